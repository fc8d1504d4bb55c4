"""What can go wrong placing or reading an order (mapped to problem+json in app.py)."""

from __future__ import annotations

__all__ = ["CartUnavailable", "EmptyCart", "IdempotencyKeyReused", "OrderNotFound"]


class OrderNotFound(Exception):
    """No such order for this caller (another user's order is not found either)."""


class EmptyCart(Exception):
    """There is nothing in the cart to check out."""


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was already used for a different request."""


class CartUnavailable(Exception):
    """The cart could not be read, so nothing was ordered."""
