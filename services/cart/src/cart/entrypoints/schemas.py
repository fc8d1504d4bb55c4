"""The cart API's bodies, as msgspec Structs (their JSON Schemas are the OpenAPI document's)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from cart.domain.cart import MAX_LINES, MAX_QUANTITY, MAX_SKU_LENGTH
from cart.domain.pricing import PricedCart, PricedLine

__all__ = ["CartIn", "CartOut", "InternalCartOut", "LineIn", "LineOut", "MoneyOut", "QuantityIn"]

Quantity = Annotated[int, Meta(ge=1, le=MAX_QUANTITY)]


class MoneyOut(msgspec.Struct, frozen=True):
    amount_minor: Annotated[int, Meta(description="minor units (cents for EUR)")]
    currency: str


class LineOut(msgspec.Struct, frozen=True):
    sku: str
    name: Annotated[str, Meta(description="the product's name, as the catalog gave it with the "
                                          "price (empty when it gave none)")]
    quantity: int
    unit_price: MoneyOut
    line_total_minor: int
    price_stale: Annotated[bool, Meta(
        description="the catalog could not be asked: a cached price")]

    @classmethod
    def of(cls, line: PricedLine) -> LineOut:
        return cls(line.sku, line.name, line.quantity,
                   MoneyOut(line.unit_price.amount_minor, line.unit_price.currency),
                   line.line_total_minor, line.price_stale)


class CartOut(msgspec.Struct, frozen=True):
    items: list[LineOut]
    total_minor: int
    currency: str
    stale: Annotated[bool, Meta(
        description="some price is a cached one (the catalog is unavailable)")]
    version: Annotated[int, Meta(description="counts every change of the cart")]
    unavailable: Annotated[list[str], Meta(
        description="SKUs in the cart the catalog no longer sells; left out of items and total")]

    @classmethod
    def of(cls, cart: PricedCart) -> CartOut:
        return cls(**_fields(cart))


class InternalCartOut(CartOut, frozen=True):
    """A user's priced cart, for orders at checkout."""

    user_id: str

    @classmethod
    def of(cls, cart: PricedCart) -> InternalCartOut:
        return cls(**_fields(cart), user_id=cart.user_id)


def _fields(cart: PricedCart) -> dict[str, Any]:
    return {"items": [LineOut.of(line) for line in cart.lines], "total_minor": cart.total_minor,
            "currency": cart.currency, "stale": cart.stale, "version": cart.version,
            "unavailable": list(cart.unavailable)}


# unknown fields are an error, not silently dropped: a typo must not look like success

class QuantityIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    quantity: Quantity


class LineIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sku: Annotated[str, Meta(min_length=1, max_length=MAX_SKU_LENGTH)]
    quantity: Quantity


class CartIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The whole cart: what it should hold after the call."""

    items: Annotated[list[LineIn], Meta(max_length=MAX_LINES)]
