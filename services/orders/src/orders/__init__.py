"""Souk orders service."""
