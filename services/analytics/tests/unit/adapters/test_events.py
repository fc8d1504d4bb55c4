"""Orders' events become facts (adapters/events.py), and a replay's reading of stored messages
skips those that are not valid orders events (adapters/history.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from analytics.adapters.events import FACT_OF, cancelled_fact, confirmed_fact, placed_fact
from analytics.adapters.history import StreamHistory, facts_in
from analytics.domain.errors import StreamUnavailable
from analytics.domain.facts import Line, Status
from chassis.broker import Broker
from chassis.messaging import Incoming
from contracts import PricedLine, encode
from contracts.orders import OrderCancelled, OrderConfirmed, OrderPlaced

pytestmark = pytest.mark.unit

LINES = (PricedLine(sku="A-1", quantity=2, unit_price_minor=100, name="A"),)
PLACED = OrderPlaced(order_id="o-1", user_id="u-1", lines=LINES, total_minor=200,
                     currency="EUR", placed_at=10.0)
CONFIRMED = OrderConfirmed(order_id="o-1", user_id="u-1", lines=LINES, total_minor=200,
                           currency="EUR", confirmed_at=20.0)
CANCELLED = OrderCancelled(order_id="o-1", user_id="u-1", lines=LINES, total_minor=200,
                           currency="EUR", reason="declined", cancelled_at=30.0)


def test_reads_every_orders_event() -> None:
    assert set(FACT_OF) == {OrderPlaced, OrderConfirmed, OrderCancelled}


def test_each_event_tells_its_status_and_time() -> None:
    facts = [placed_fact(PLACED), confirmed_fact(CONFIRMED), cancelled_fact(CANCELLED)]
    assert [(f.status, f.placed_at, f.settled_at) for f in facts] == [
        (Status.PLACED, 10.0, None), (Status.CONFIRMED, None, 20.0),
        (Status.CANCELLED, None, 30.0)]
    assert facts[0].lines == (Line("A-1", 2, 100),)
    assert {(f.order_id, f.user_id, f.total_minor, f.currency) for f in facts} == {
        ("o-1", "u-1", 200, "EUR")}


async def test_a_replay_skips_invalid_and_foreign_messages() -> None:
    def incoming(type_: str, data: bytes) -> Incoming:
        return Incoming(id="m", type=type_, subject=f"souk.{type_}", data=data, headers={})

    async def stored() -> AsyncIterator[Incoming]:
        yield incoming(PLACED.TYPE, encode(PLACED))
        yield incoming(CONFIRMED.TYPE, b'{"order_id": "broken"}')
        yield incoming(CONFIRMED.TYPE, b"not json")
        yield incoming("inventory.StockReserved.v1", b"{}")
        yield incoming(CANCELLED.TYPE, encode(CANCELLED))

    assert [f.status async for f in facts_in(stored())] == [Status.PLACED, Status.CANCELLED]


def test_the_stream_is_unavailable_without_a_broker_connection() -> None:
    history = StreamHistory(Broker("nats://127.0.0.1:1", name="never-started"))
    with pytest.raises(StreamUnavailable):
        history.check()
