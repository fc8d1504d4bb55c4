"""Orders' events: what the checkout saga publishes for everyone else (choreography)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from msgspec import Meta

from contracts.base import Event, Money, PricedLine

__all__ = ["OrderCancelled", "OrderConfirmed", "OrderEvent", "OrderPlaced"]


class OrderEvent(Event, frozen=True, kw_only=True):
    """What every orders event carries: the whole order, so that a consumer keeps its own copy
    of what it reads instead of asking orders."""

    order_id: str
    user_id: str
    lines: Annotated[tuple[PricedLine, ...], Meta(min_length=1)]
    total_minor: Money
    currency: str


class OrderPlaced(OrderEvent, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "orders.OrderPlaced.v1"
    placed_at: Annotated[float, Meta(description="Unix seconds")]


class OrderConfirmed(OrderEvent, frozen=True, kw_only=True):
    """Stock committed-to and payment captured: inventory commits, notifications confirm, the cart
    clears the ordered lines, analytics counts revenue.

    ``cart_version`` is the version of the cart the order was taken from, so the cart removes
    only the lines the buyer has not changed since (a line set again for the next order before
    this confirmation arrived stays)."""

    TYPE: ClassVar[str] = "orders.OrderConfirmed.v1"
    confirmed_at: float
    # added later: absent in older senders' messages (and ``None`` for orders placed before it
    # was stored), where the cart falls back to taking the ordered quantities off its lines
    cart_version: Annotated[int, Meta(ge=0)] | None = None


class OrderCancelled(OrderEvent, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "orders.OrderCancelled.v1"
    reason: str
    cancelled_at: float
