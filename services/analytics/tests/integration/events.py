"""Orders events for the integration tests."""

from __future__ import annotations

from contracts.base import PricedLine
from contracts.orders import OrderCancelled, OrderConfirmed, OrderPlaced

LINES = (PricedLine(sku="KIT-0001", quantity=2, unit_price_minor=1000, name="Knife"),
         PricedLine(sku="BOK-0002", quantity=1, unit_price_minor=2500, name="Book"))
TOTAL = 4500


def placed(order_id: str, currency: str = "EUR") -> OrderPlaced:
    return OrderPlaced(order_id=order_id, user_id="alice", lines=LINES, total_minor=TOTAL,
                       currency=currency, placed_at=100.0)


def confirmed(order_id: str, currency: str = "EUR") -> OrderConfirmed:
    return OrderConfirmed(order_id=order_id, user_id="alice", lines=LINES, total_minor=TOTAL,
                          currency=currency, confirmed_at=200.0)


def cancelled(order_id: str) -> OrderCancelled:
    return OrderCancelled(order_id=order_id, user_id="alice", lines=LINES, total_minor=TOTAL,
                          currency="EUR", reason="declined", cancelled_at=200.0)
