"""Use cases of identity, and the ports (protocols) they need from adapters."""
