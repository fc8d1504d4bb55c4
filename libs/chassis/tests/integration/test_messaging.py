"""The messaging chain against a real nats-server and real databases: outbox → relay → JetStream →
consumer with inbox, redelivery, dead letters and history."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import nats
import pytest
from prometheus_client import CollectorRegistry

from chassis.broker import Broker
from chassis.db import Database, migrate, open_database
from chassis.faults import FaultPoints
from chassis.messaging import (
    DLQ_STREAM,
    STREAM,
    HistoryIncomplete,
    Incoming,
    MessageHandlers,
    MessageTx,
    Messaging,
    history,
    subject_for,
)
from chassis.testing import temporary_database
from contracts import Event, encode

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parent / "messaging_migrations"


class Pinged(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.Pinged.v1"
    n: int


class Ponged(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.Ponged.v1"
    n: int


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with temporary_database(request.param, tmp_path, "messaging") as url:
        await migrate(url, MIGRATIONS)
        database = open_database(url)
        await database.connect()
        yield database
        await database.close()


@pytest.fixture
async def broker(nats_url: str) -> AsyncIterator[Broker]:
    b = Broker(nats_url, name="test")
    await b.start()
    await b.wait_connected(5)
    yield b
    await b.close()


def make_messaging(db: Database, broker: Broker, name: str, **kw: object) -> Messaging:
    return Messaging(db, broker, name, CollectorRegistry(), FaultPoints(None), **kw)  # type: ignore[arg-type]


async def eventually(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def effects(db: Database) -> dict[str, int]:
    async with db.transaction(readonly=True) as tx:
        return {r["msg_id"]: r["value"] for r in await tx.fetch_all("SELECT * FROM effects")}


async def raw_publish(nats_url: str, msg: Event, *, nats_id: str, souk_id: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(subject_for(msg), encode(msg), headers={
            "Nats-Msg-Id": nats_id, "Souk-Msg-Id": souk_id, "Souk-Type": msg.TYPE})
    finally:
        await nc.close()


async def test_a_published_message_is_applied_once_and_its_reply_published(
        db: Database, broker: Broker, nats_url: str) -> None:
    consumer = f"pinger-{time.time_ns()}"
    m = make_messaging(db, broker, consumer)

    handlers = MessageHandlers()

    @handlers.on(Pinged)
    async def on_pinged(event: Pinged, tx: MessageTx, meta: Incoming) -> None:
        # counts applications: a second application of one message would show as 2
        await tx.execute("INSERT INTO effects (msg_id, value) VALUES (:id, 1) ON CONFLICT (msg_id) "
                         "DO UPDATE SET value = effects.value + 1", {"id": meta.id})
        tx.publish(Ponged(n=event.n), msg_id=meta.reply_id)

    m.subscribe(handlers, {})
    await m.start()
    await m.wait_started(10)
    first = f"p-{time.time_ns()}"
    async with m.transaction(correlation_id="corr-1") as tx:
        tx.publish(Pinged(n=7), msg_id=first)

    async def applied() -> bool:
        return first in await effects(db)

    await eventually(applied)
    # the same logical message again under another Nats-Msg-Id: JetStream keeps both, the
    # inbox applies it once (sent after the first is applied, so the reply checked below is the
    # first one's)
    await raw_publish(nats_url, Pinged(n=7), nats_id=first + "-again", souk_id=first)

    async def both_delivered() -> bool:
        info = await broker.jetstream().consumer_info(STREAM, consumer)
        return info.num_ack_pending == 0 and info.num_pending == 0 and \
            info.delivered.stream_seq >= 3  # the ping, its pong, the repeated ping

    await eventually(both_delivered)
    assert (await effects(db))[first] == 1

    js = broker.jetstream()
    reply = await js.get_last_msg(STREAM, subject_for(Ponged))
    assert reply.headers is not None
    assert reply.headers["Nats-Msg-Id"] == f"{first}.r"
    assert reply.headers["Souk-Correlation-Id"] == "corr-1"

    async def outbox_drained() -> bool:
        return (await m.outbox_stats())["pending"] == 0

    await eventually(outbox_drained)
    await m.close()


async def test_rows_left_unpublished_by_a_crash_are_published_by_the_catch_up_poll(
        db: Database, broker: Broker) -> None:
    m = make_messaging(db, broker, f"relay-{time.time_ns()}")
    msg_id = f"left-{time.time_ns()}"
    async with db.transaction() as raw:  # committed, never handed to a relay: a crash did that
        tx = MessageTx(raw)
        tx.publish(Pinged(n=1), msg_id=msg_id)
        await tx.flush_outbox()
    # rows from before the relay started are no fast path's: published by the first catch-up,
    # not after the grace (an hour here, so waiting it out would fail the test)
    m.relay._grace = 3600.0
    await m.start()

    async def published() -> bool:
        return (await m.outbox_stats())["pending"] == 0

    await eventually(published)
    last = await broker.jetstream().get_last_msg(STREAM, subject_for(Pinged))
    assert last.headers is not None and last.headers["Nats-Msg-Id"] == msg_id
    await m.close()


async def test_a_poison_message_is_dead_lettered_and_the_consumer_keeps_going(
        db: Database, broker: Broker, nats_url: str) -> None:
    consumer = f"poison-{time.time_ns()}"
    m = make_messaging(db, broker, consumer, max_deliver=3, nak_delay=0.05)

    handlers = MessageHandlers()

    @handlers.on(Pinged)
    async def on_pinged(event: Pinged, tx: MessageTx, meta: Incoming) -> None:
        if event.n < 0:
            raise ValueError("negative pings are not allowed")
        await tx.execute("INSERT INTO effects (msg_id, value) VALUES (:id, :v)",
                         {"id": meta.id, "v": event.n})

    m.subscribe(handlers, {})
    await m.start()
    await m.wait_started(10)
    stamp = time.time_ns()
    await raw_publish(nats_url, Pinged(n=-1), nats_id=f"bad-{stamp}", souk_id=f"bad-{stamp}")
    for i in range(5):
        await raw_publish(nats_url, Pinged(n=i), nats_id=f"ok-{stamp}-{i}", souk_id=f"ok-{stamp}-{i}")

    async def all_good_applied_and_bad_dead() -> bool:
        done = await effects(db)
        good = all(f"ok-{stamp}-{i}" in done for i in range(5))
        return good and (await m.outbox_stats())["dead_letters"] == 1

    await eventually(all_good_applied_and_bad_dead, timeout=15)
    assert f"bad-{stamp}" not in await effects(db)

    async def in_dlq() -> bool:
        try:
            msg = await broker.jetstream().get_last_msg(DLQ_STREAM, f"souk-dlq.{consumer}")
        except Exception:
            return False
        return msg.headers is not None and msg.headers.get("Souk-Msg-Id") == f"bad-{stamp}"

    await eventually(in_dlq)
    dead = await broker.jetstream().get_last_msg(DLQ_STREAM, f"souk-dlq.{consumer}")
    assert dead.headers is not None
    assert "negative pings" in dead.headers["Souk-Dlq-Error"]
    assert dead.headers["Souk-Dlq-Deliveries"] == "3"
    await m.close()


async def test_history_reads_every_stored_message_of_the_asked_types(
        db: Database, broker: Broker) -> None:
    m = make_messaging(db, broker, f"hist-{time.time_ns()}")
    await m.start()
    stamp = time.time_ns()
    async with m.transaction() as tx:
        for i in range(30):
            tx.publish(Ponged(n=i), msg_id=f"h-{stamp}-{i}")

    async def drained() -> bool:
        return (await m.outbox_stats())["pending"] == 0

    await eventually(drained)
    seen = [item.id async for item in history(broker, [Ponged])]
    assert [f"h-{stamp}-{i}" for i in range(30)] == [s for s in seen if s.startswith(f"h-{stamp}")]
    assert all(s.startswith("h-") or s.endswith(".r") for s in seen)
    await m.close()


async def test_history_that_goes_silent_before_the_last_message_raises_instead_of_ending(
        db: Database, broker: Broker) -> None:
    m = make_messaging(db, broker, f"hist-{time.time_ns()}")
    await m.start()
    stamp = time.time_ns()
    async with m.transaction() as tx:
        for i in range(3):
            tx.publish(Ponged(n=i), msg_id=f"s-{stamp}-{i}")

    async def drained() -> bool:
        return (await m.outbox_stats())["pending"] == 0

    await eventually(drained)
    # no silence is short enough to be the end: a reading that has not reached the stream's
    # last message when the wait runs out is a stall, and says so
    with pytest.raises(HistoryIncomplete):
        async for _ in history(broker, [Ponged], idle_timeout=0):
            pass
    await m.close()


def test_slimming_the_outbox_keeps_what_is_unpublished_and_drops_the_rest(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")

    def to(revision: str, *, down: bool = False) -> None:
        with engine.connect() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, revision)
            conn.commit()

    to("0001")  # the first outbox: published rows kept, marked published_at
    with engine.begin() as conn:
        for msg_id, published in (("sent", 1.0), ("waiting", None)):
            conn.execute(text("INSERT INTO outbox (msg_id, subject, headers, payload, created_at, "
                              "published_at) VALUES (:m, 's', '{}', '{}', 0, :p)"),
                         {"m": msg_id, "p": published})
    to("head")
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT msg_id FROM outbox"))] == ["waiting"]
    assert "published_at" not in {c["name"] for c in inspect(engine).get_columns("outbox")}
    # dropped by the slimming, back for the pruning (0003)
    assert [i["name"] for i in inspect(engine).get_indexes("inbox")] == ["inbox_processed_at"]
    to("0001", down=True)
    assert "published_at" in {c["name"] for c in inspect(engine).get_columns("outbox")}
    engine.dispose()


async def test_a_publish_no_stream_takes_stays_in_the_outbox_and_is_retried(
        db: Database, broker: Broker) -> None:
    m = make_messaging(db, broker, f"nowhere-{time.time_ns()}")
    await m.start()
    async with m.transaction() as tx:  # a subject outside every stream: no PubAck comes back
        tx.publish_raw("nowhere.test", b"{}", {"Nats-Msg-Id": f"lost-{time.time_ns()}"})

    async def retried() -> bool:
        return m.metrics.publish_failures._value.get() >= 2

    await eventually(retried, timeout=20)
    assert (await m.outbox_stats())["pending"] == 1
    await m.close()
