"""Adapters: the SQL repository behind ``catalog.service.ports``, and the demo catalog."""
