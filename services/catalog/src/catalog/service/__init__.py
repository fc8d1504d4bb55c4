"""Use cases of the catalog, and the ports (protocols) they need from adapters."""
