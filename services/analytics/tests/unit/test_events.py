"""Events become facts; a replay skips stored messages that are not valid orders events."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from analytics.domain.facts import Line, Status
from analytics.entrypoints.consumers import HANDLERS
from analytics.entrypoints.events import fact_of, facts_in
from chassis.messaging import Incoming
from contracts.base import PricedLine
from contracts.orders import OrderCancelled, OrderConfirmed, OrderPlaced

pytestmark = pytest.mark.unit

LINES = (PricedLine(sku="A-1", quantity=2, unit_price_minor=100, name="A"),)
PLACED = OrderPlaced(order_id="o-1", user_id="u-1", lines=LINES, total_minor=200,
                     currency="EUR", placed_at=10.0)
CONFIRMED = OrderConfirmed(order_id="o-1", user_id="u-1", lines=LINES, total_minor=200,
                           currency="EUR", confirmed_at=20.0)
CANCELLED = OrderCancelled(order_id="o-1", user_id="u-1", lines=LINES, total_minor=200,
                           currency="EUR", reason="declined", cancelled_at=30.0)


def test_subscribes_to_every_orders_event() -> None:
    assert set(HANDLERS) == {OrderPlaced, OrderConfirmed, OrderCancelled}


def test_each_event_tells_its_status_and_time() -> None:
    assert [(f.status, f.placed_at, f.settled_at) for f in map(fact_of, (
        PLACED, CONFIRMED, CANCELLED))] == [(Status.PLACED, 10.0, None),
                                            (Status.CONFIRMED, None, 20.0),
                                            (Status.CANCELLED, None, 30.0)]
    assert fact_of(PLACED).lines == (Line("A-1", 2, 100),)


async def test_a_replay_skips_invalid_and_foreign_messages() -> None:
    def incoming(type_: str, data: bytes) -> Incoming:
        return Incoming(id="m", type=type_, subject=f"souk.{type_}", data=data, headers={})

    async def stored() -> AsyncIterator[Incoming]:
        yield incoming(PLACED.TYPE, PLACED.model_dump_json().encode())
        yield incoming(CONFIRMED.TYPE, b'{"order_id": "broken"}')
        yield incoming("inventory.StockReserved.v1", b"{}")
        yield incoming(CANCELLED.TYPE, CANCELLED.model_dump_json().encode())

    assert [f.status async for f in facts_in(stored())] == [Status.PLACED, Status.CANCELLED]
