"""Orders' terminal events become outcomes (entrypoints/messages.py), one named handler each."""

from __future__ import annotations

import pytest

from contracts import PricedLine
from contracts.orders import OrderCancelled, OrderConfirmed
from notifications.domain.messages import Kind, OrderOutcome
from notifications.entrypoints.messages import cancellation, confirmation, handlers

pytestmark = pytest.mark.unit

LINES = (PricedLine(sku="A-1", quantity=2, unit_price_minor=100),
         PricedLine(sku="B-1", quantity=3, unit_price_minor=50))


def test_subscribes_to_the_terminal_orders_events_only() -> None:
    assert set(handlers) == {OrderConfirmed, OrderCancelled}


def test_translates_events_to_outcomes_counting_items() -> None:
    confirmed = OrderConfirmed(order_id="o-1", user_id="u-1", lines=LINES, total_minor=350,
                               currency="EUR", confirmed_at=1.0)
    cancelled = OrderCancelled(order_id="o-2", user_id="u-1", lines=LINES, total_minor=350,
                               currency="EUR", reason="out of stock", cancelled_at=1.0)
    assert confirmation(confirmed) == OrderOutcome(Kind.ORDER_CONFIRMED, "o-1", "u-1", 5, 350,
                                                   "EUR")
    assert cancellation(cancelled) == OrderOutcome(Kind.ORDER_CANCELLED, "o-2", "u-1", 5, 350,
                                                   "EUR", reason="out of stock")
