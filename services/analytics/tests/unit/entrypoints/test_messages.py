"""The consumer (entrypoints/messages.py): one named handler per orders event."""

from __future__ import annotations

import pytest

from analytics.entrypoints.messages import handlers
from contracts.orders import OrderCancelled, OrderConfirmed, OrderPlaced

pytestmark = pytest.mark.unit


def test_subscribes_to_every_orders_event() -> None:
    assert set(handlers) == {OrderPlaced, OrderConfirmed, OrderCancelled}
