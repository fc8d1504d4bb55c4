"""Order facts as each orders event tells them, with overridable fields (shared by the unit
tests)."""

from __future__ import annotations

from analytics.domain.facts import Line, OrderFact, Status

LINES = (Line("KIT-0001", 2, 1000), Line("BOK-0002", 1, 2500))


def fact(status: Status, order_id: str = "o-1", *, user_id: str = "u-1",
         lines: tuple[Line, ...] = LINES, currency: str = "EUR") -> OrderFact:
    total = sum(line.quantity * line.unit_price_minor for line in lines)
    return OrderFact(order_id=order_id, user_id=user_id, status=status, total_minor=total,
                     currency=currency, lines=lines,
                     placed_at=100.0 if status is Status.PLACED else None,
                     settled_at=None if status is Status.PLACED else 200.0)
