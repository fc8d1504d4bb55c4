"""Souk analytics service."""
