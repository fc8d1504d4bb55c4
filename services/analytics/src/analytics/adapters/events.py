"""Orders' events as order facts: analytics keeps its own copy of the fields it reads. Used by
the live handlers (entrypoints/messages.py) and by the replay (adapters/history.py) alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analytics.domain.facts import Line, OrderFact, Status
from contracts import PricedLine
from contracts.orders import OrderCancelled, OrderConfirmed, OrderPlaced

__all__ = ["FACT_OF", "cancelled_fact", "confirmed_fact", "placed_fact"]


def _lines(lines: tuple[PricedLine, ...]) -> tuple[Line, ...]:
    return tuple(Line(line.sku, line.quantity, line.unit_price_minor) for line in lines)


def _fact(event: OrderPlaced | OrderConfirmed | OrderCancelled, status: Status,
          placed_at: float | None, settled_at: float | None) -> OrderFact:
    return OrderFact(order_id=event.order_id, user_id=event.user_id, status=status,
                     total_minor=event.total_minor, currency=event.currency,
                     lines=_lines(event.lines), placed_at=placed_at, settled_at=settled_at)


def placed_fact(event: OrderPlaced) -> OrderFact:
    """An order placed: known from its placement time on, not settled."""
    return _fact(event, Status.PLACED, event.placed_at, None)


def confirmed_fact(event: OrderConfirmed) -> OrderFact:
    """An order confirmed, settled when it was confirmed."""
    return _fact(event, Status.CONFIRMED, None, event.confirmed_at)


def cancelled_fact(event: OrderCancelled) -> OrderFact:
    """An order cancelled, settled when it was cancelled."""
    return _fact(event, Status.CANCELLED, None, event.cancelled_at)


# contract → its translation: what analytics reads from the stream
FACT_OF: dict[type[Any], Callable[[Any], OrderFact]] = {
    OrderPlaced: placed_fact, OrderConfirmed: confirmed_fact, OrderCancelled: cancelled_fact}
