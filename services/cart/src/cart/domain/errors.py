"""What can go wrong with a cart, in the cart's own words (mapped to problems in ``cart.app``)."""

from __future__ import annotations

__all__ = ["AddKeyReused", "CartChanged", "CartError", "CartFull", "DuplicateSku", "InvalidQuantity",
           "InvalidSku", "ItemNotFound", "MixedCurrencies", "PricingUnavailable", "UnknownSku"]


class CartError(Exception):
    """Base of the cart's domain errors."""


class InvalidSku(CartError):
    """Not shaped like a SKU."""


class InvalidQuantity(CartError):
    """Outside 1..99."""


class CartFull(CartError):
    """The cart already has the maximum of distinct lines."""


class ItemNotFound(CartError):
    """The cart has no line for this SKU."""


class UnknownSku(CartError):
    """The catalog does not sell this SKU."""


class PricingUnavailable(CartError):
    """No price can be had for a line: the catalog is unreachable and nothing is cached."""


class MixedCurrencies(CartError):
    """The lines are priced in different currencies, so they have no total."""


class AddKeyReused(CartError):
    """An add's Idempotency-Key was used before for another add (another SKU or quantity): the
    add it names was made, this one is not."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the Idempotency-Key {key!r} was used for another add; use a new key "
                         "for each add")
        self.key = key


class DuplicateSku(CartError):
    """A whole-cart replacement named the same SKU twice."""


class CartChanged(CartError):
    """The cart is not at a version the change was made for (``If-Match``): it changed since the
    caller read it, so nothing was changed."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the cart changed since you read it (it is at version {current} now): "
                         "nothing was changed; read it again and make the change on what it holds")
        self.current = current
