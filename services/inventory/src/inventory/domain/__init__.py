"""Inventory's rules in plain Python: stock levels, reservations and what a command gets back."""
