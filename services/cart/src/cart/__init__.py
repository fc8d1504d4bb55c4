"""Souk cart service."""
