"""What can go wrong placing or reading an order (mapped to problem+json in app.py); each says
what happened in words, as a problem's ``detail``."""

from __future__ import annotations

__all__ = ["CartAlreadyOrdered", "CartNotOrderable", "CartUnavailable", "EmptyCart", "IdempotencyKeyReused",
           "OrderNotFound"]


class OrderNotFound(Exception):
    """No such order for this caller (another user's order is not found either)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"there is no order {order_id}")
        self.order_id = order_id


class EmptyCart(Exception):
    """There is nothing in the cart to check out."""

    def __init__(self, user_id: str) -> None:
        super().__init__("the cart is empty: put something in it before checking out")
        self.user_id = user_id


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was already used for a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the Idempotency-Key {key!r} was used before with another card; "
                         "a new checkout takes a new key")
        self.key = key


class CartAlreadyOrdered(Exception):
    """The cart, as it is, was ordered already under another Idempotency-Key: that order is under
    way or confirmed (the cart empties once the confirmation reaches it)."""

    def __init__(self, order_id: str | None) -> None:
        of = f"order {order_id}" if order_id else "another order"
        super().__init__(f"this cart, as it is, is already being checked out or was bought: {of}; "
                         "change the cart to order again")
        self.order_id = order_id


class CartUnavailable(Exception):
    """The cart could not be read, so nothing was ordered."""


class CartNotOrderable(Exception):
    """The cart refused to give itself priced for a reason that waiting does not cure (its lines
    are priced in different currencies: a product's currency changed since it was added); the
    buyer must change the cart. Nothing was ordered."""
