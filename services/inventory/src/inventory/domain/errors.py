"""Domain errors. They know nothing of HTTP: ``inventory.app`` maps them to problem+json."""

from __future__ import annotations

__all__ = ["InvalidQuantity", "InvalidSku", "InventoryError", "UnknownSku"]


class InventoryError(Exception):
    """Base of every error the inventory raises on purpose."""


class UnknownSku(InventoryError):
    """No stock row exists for the SKU asked for."""


class InvalidSku(InventoryError, ValueError):
    """Not SKU-shaped: 1 to 32 of A-Z, 0-9 and '-', not starting with '-'."""


class InvalidQuantity(InventoryError, ValueError):
    """A quantity that is not a positive whole number within bounds."""
