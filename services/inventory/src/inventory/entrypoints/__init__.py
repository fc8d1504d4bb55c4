"""How the inventory is driven: HTTP routes, message handlers and background tasks."""
