"""What the messaging chain holds is bounded (issue 10, item 17), against a real nats-server and
real databases: the streams' limits refuse rather than drop, the relay's memory is capped with the
outbox table as the overflow, and the inbox forgets rows past its retention."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import ClassVar

import nats
import pytest
from nats.js import api
from prometheus_client import CollectorRegistry

from chassis.broker import Broker
from chassis.db import Database
from chassis.faults import FaultPoints
from chassis.messaging import DLQ_STREAM, STREAM, Messaging, subject_for
from chassis.messaging.streams import StreamLimits, ensure_streams
from chassis.testing import nats_server
from chassis.testing.service import eventually
from contracts import Event

pytestmark = pytest.mark.integration

DAY = 86_400.0


class Filled(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.Filled.v1"
    n: int
    padding: str


@pytest.fixture
def own_nats() -> Iterator[str]:
    """A server of this test's own: its streams get limits no other test expects."""
    with nats_server() as url:
        yield url


@pytest.fixture
async def broker(own_nats: str) -> AsyncIterator[Broker]:
    b = Broker(own_nats, name="bounds")
    await b.start()
    await b.wait_connected(5)
    yield b
    await b.close()


def make_messaging(db: Database, broker: Broker, **kw: object) -> Messaging:
    return Messaging(db, broker, f"bounds-{time.time_ns()}", CollectorRegistry(),  # type: ignore[arg-type]
                     FaultPoints(None), **kw)


async def pending(m: Messaging) -> int:
    return int((await m.outbox_stats())["pending"])


async def test_the_streams_are_bounded_and_refuse_new_messages_rather_than_drop_old_ones(
        db: Database, broker: Broker) -> None:
    limits = StreamLimits(max_age=3 * DAY, max_bytes=16 << 10, dlq_max_bytes=1 << 20)
    m = make_messaging(db, broker, limits=limits)
    await m.start()
    await m.wait_started(10)
    js = broker.jetstream()
    souk, dlq = (await js.stream_info(STREAM)).config, (await js.stream_info(DLQ_STREAM)).config
    assert (souk.max_age, souk.max_bytes, souk.discard) == (3 * DAY, 16 << 10,
                                                           api.DiscardPolicy.NEW)
    assert (dlq.max_age or 0.0, dlq.max_bytes, dlq.discard) == (0.0, 1 << 20,
                                                                api.DiscardPolicy.NEW)

    stamp = time.time_ns()
    async with m.transaction() as tx:  # ~40 KiB: more than the stream may hold
        for i in range(40):
            tx.publish(Filled(n=i, padding="x" * 900), msg_id=f"fill-{stamp}-{i}")

    async def refused() -> bool:
        return m.metrics.publish_failures._value.get() >= 1 and await pending(m) > 0

    await eventually(refused, timeout=15)
    state = (await js.stream_info(STREAM)).state
    assert state.first_seq == 1  # full, and nothing accepted was dropped to make room
    assert state.messages < 40

    # at the bound the rows wait in the outbox; with room again, every one of them goes out
    await ensure_streams(js, StreamLimits(max_age=3 * DAY, max_bytes=1 << 20))

    async def drained() -> bool:
        return await pending(m) == 0

    await eventually(drained, timeout=30)
    state = (await js.stream_info(STREAM)).state
    assert (state.first_seq, state.messages) == (1, 40)
    await m.close()


async def test_an_existing_unbounded_stream_gets_the_limits_and_keeps_its_other_settings(
        broker: Broker) -> None:
    js = broker.jetstream()
    await js.add_stream(api.StreamConfig(name=STREAM, subjects=["souk.>"], max_age=0,
                                         duplicate_window=30, description="an operator's"))
    await ensure_streams(js, StreamLimits(max_age=2 * DAY, max_bytes=64 << 20))
    config = (await js.stream_info(STREAM)).config
    assert (config.max_age, config.max_bytes, config.discard) == (2 * DAY, 64 << 20,
                                                                  api.DiscardPolicy.NEW)
    assert (config.duplicate_window, config.description) == (30, "an operator's")


async def test_the_relay_holds_at_most_its_maximum_and_the_outbox_table_holds_the_rest(
        db: Database, broker: Broker, own_nats: str) -> None:
    m = make_messaging(db, broker, relay_max_queued=5)
    stamp = time.time_ns()
    # the broker is not usable yet (messaging not started): as in an outage, rows pile up
    for i in range(4):
        async with m.transaction() as tx:
            for j in range(5):
                tx.publish(Filled(n=i * 5 + j, padding=""), msg_id=f"q-{stamp}-{i}-{j}")
    assert len(m.relay._queued) == 5  # not 20: memory is bounded
    assert m.metrics.relay_overflow._value.get() == 15
    assert await pending(m) == 20  # every row is committed in the outbox table

    await m.start()

    async def drained() -> bool:
        return await pending(m) == 0

    await eventually(drained, timeout=30)
    nc = await nats.connect(own_nats)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM, subjects_filter=subject_for(Filled))
        assert info.state.messages == 20
    finally:
        await nc.close()
    await m.close()


async def test_inbox_rows_older_than_the_retention_are_pruned(db: Database,
                                                               broker: Broker) -> None:
    m = make_messaging(db, broker, inbox_retention=8 * DAY)
    now = time.time()
    rows = [{"consumer": "c", "msg_id": f"old-{i}", "at": now - 9 * DAY} for i in range(1500)]
    rows += [{"consumer": "c", "msg_id": f"new-{i}", "at": now - 7 * DAY} for i in range(3)]
    async with db.transaction() as tx:
        await tx.execute_many("INSERT INTO inbox (consumer, msg_id, processed_at) "
                              "VALUES (:consumer, :msg_id, :at)", rows)
    rounds = 0
    while await m.prune_inbox():  # in batches: there may be more after a full one
        rounds += 1
        assert rounds < 10
    async with db.transaction(readonly=True) as tx:
        left = sorted(r["msg_id"] for r in await tx.fetch_all("SELECT msg_id FROM inbox"))
    assert left == ["new-0", "new-1", "new-2"]
