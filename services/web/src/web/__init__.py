"""Souk web: the storefront and the operations console, server-rendered, behind the gateway."""
