"""Souk payments service."""
