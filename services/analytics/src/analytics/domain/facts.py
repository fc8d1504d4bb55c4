"""Order facts: what analytics knows of each order, merged from its events in any order.

The merge is idempotent and commutative, so applying an event twice, or events out of order
(a Placed after its Confirmed), or replaying the whole stream, gives the same facts. A status
only moves up: placed < cancelled/confirmed. Confirmed and cancelled are equally final; the
saga never emits both for one order, and were it to, ``confirmed`` wins either way round so the
result still does not depend on arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

__all__ = ["PRECEDENCE", "Line", "OrderFact", "ProductSale", "Status", "merge", "sales_of"]


class Status(StrEnum):
    PLACED = "placed"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


# placed < cancelled = confirmed in rank; the last step only breaks the (impossible) tie
PRECEDENCE: dict[Status, int] = {Status.PLACED: 0, Status.CANCELLED: 1, Status.CONFIRMED: 2}


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True, slots=True)
class OrderFact:
    order_id: str
    user_id: str
    status: Status
    total_minor: int
    currency: str
    lines: tuple[Line, ...]
    placed_at: float | None  # known once OrderPlaced is seen
    settled_at: float | None  # when it was confirmed or cancelled


def merge(existing: OrderFact | None, incoming: OrderFact) -> OrderFact:
    """The facts after ``incoming`` is applied on top of ``existing``."""
    if existing is None:
        return incoming
    winner = incoming if PRECEDENCE[incoming.status] > PRECEDENCE[existing.status] else existing
    return replace(existing, status=winner.status, settled_at=winner.settled_at,
                   placed_at=existing.placed_at if existing.placed_at is not None
                   else incoming.placed_at)


@dataclass(frozen=True, slots=True)
class ProductSale:
    order_id: str
    sku: str
    quantity: int
    revenue_minor: int


def sales_of(fact: OrderFact) -> list[ProductSale]:
    """What a confirmed order sold, one entry per SKU; nothing for any other status."""
    if fact.status is not Status.CONFIRMED:
        return []
    per_sku: dict[str, tuple[int, int]] = {}
    for line in fact.lines:
        units, revenue = per_sku.get(line.sku, (0, 0))
        per_sku[line.sku] = (units + line.quantity, revenue + line.quantity * line.unit_price_minor)
    return [ProductSale(fact.order_id, sku, units, revenue)
            for sku, (units, revenue) in sorted(per_sku.items())]
