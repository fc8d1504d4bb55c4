"""Souk notifications service."""
