"""The JSON shapes of the cart API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from cart.domain.cart import MAX_LINES, MAX_QUANTITY
from cart.domain.pricing import PricedCart

__all__ = ["CartOut", "InternalCartOut", "LineOut", "MoneyOut", "QuantityIn"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class MoneyOut(_Out):
    amount_minor: int = Field(description="minor units (cents for EUR)")
    currency: str


class LineOut(_Out):
    sku: str
    quantity: int
    unit_price: MoneyOut
    line_total_minor: int
    price_stale: bool = Field(description="the catalog could not be asked: a cached price")


class CartOut(_Out):
    items: list[LineOut]
    total_minor: int
    currency: str
    stale: bool = Field(description="some price is a cached one (the catalog is unavailable)")
    version: int = Field(description="counts every change of the cart")
    unavailable: list[str] = Field(
        default_factory=list, description="SKUs in the cart the catalog no longer sells; "
                                          "left out of items and total")

    @classmethod
    def fields_of(cls, cart: PricedCart) -> dict[str, object]:
        return {
            "items": [LineOut(sku=line.sku, quantity=line.quantity,
                              unit_price=MoneyOut(amount_minor=line.unit_price.amount_minor,
                                                  currency=line.unit_price.currency),
                              line_total_minor=line.line_total_minor,
                              price_stale=line.price_stale) for line in cart.lines],
            "total_minor": cart.total_minor, "currency": cart.currency, "stale": cart.stale,
            "version": cart.version, "unavailable": list(cart.unavailable)}

    @classmethod
    def of(cls, cart: PricedCart) -> CartOut:
        return cls.model_validate(cls.fields_of(cart))


class InternalCartOut(CartOut):
    user_id: str

    @classmethod
    def of(cls, cart: PricedCart) -> InternalCartOut:
        return cls.model_validate({**cls.fields_of(cart), "user_id": cart.user_id})


class LineIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: str = Field(min_length=1, max_length=32)
    quantity: int = Field(ge=1, le=MAX_QUANTITY, strict=True)


class CartIn(BaseModel):
    """The whole cart: what it should hold after the call."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: list[LineIn] = Field(max_length=MAX_LINES)


class QuantityIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: int = Field(ge=1, le=MAX_QUANTITY, strict=True)
