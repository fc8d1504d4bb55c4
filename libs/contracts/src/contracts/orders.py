"""Orders' events: what the checkout saga publishes for everyone else (choreography)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from contracts.base import Event, Money, PricedLine

__all__ = ["OrderCancelled", "OrderConfirmed", "OrderPlaced"]


class OrderPlaced(Event):
    TYPE: ClassVar[str] = "orders.OrderPlaced.v1"
    order_id: str
    user_id: str
    lines: tuple[PricedLine, ...] = Field(min_length=1)
    total_minor: Money
    currency: str
    placed_at: float = Field(description="Unix seconds")


class OrderConfirmed(Event):
    """Stock committed-to and payment captured: inventory commits, notifications confirm, the cart
    clears the ordered lines, analytics counts revenue."""

    TYPE: ClassVar[str] = "orders.OrderConfirmed.v1"
    order_id: str
    user_id: str
    lines: tuple[PricedLine, ...] = Field(min_length=1)
    total_minor: Money
    currency: str
    confirmed_at: float


class OrderCancelled(Event):
    TYPE: ClassVar[str] = "orders.OrderCancelled.v1"
    order_id: str
    user_id: str
    lines: tuple[PricedLine, ...] = Field(min_length=1)
    total_minor: Money
    currency: str
    reason: str
    cancelled_at: float
