"""Souk inventory service."""
