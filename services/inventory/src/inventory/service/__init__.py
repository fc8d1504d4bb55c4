"""Use cases of the inventory, and the ports (protocols) they need from adapters."""
