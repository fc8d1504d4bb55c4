"""The messaging chain against a real nats-server and real databases: outbox → relay → JetStream →
consumer with inbox, redelivery, dead letters and history."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import nats
import orjson
import pytest
from prometheus_client import CollectorRegistry

from chassis.broker import Broker
from chassis.db import Database
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
from chassis.messaging.envelope import CORRELATION
from chassis.messaging.streams import ensure_consumer, ensure_streams, filter_of
from contracts import Event, encode

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parent / "messaging_migrations"


class Pinged(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.Pinged.v1"
    n: int


class Ponged(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.Ponged.v1"
    n: int


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


async def raw_publish(nats_url: str, msg: Event, *, nats_id: str, souk_id: str,
                      data: bytes | None = None, correlation: str = "",
                      traceparent: str = "") -> None:
    nc = await nats.connect(nats_url)
    headers = {"Nats-Msg-Id": nats_id, "Souk-Msg-Id": souk_id, "Souk-Type": msg.TYPE}
    if correlation:
        headers[CORRELATION] = correlation
    if traceparent:
        headers["traceparent"] = traceparent
    try:
        await nc.jetstream().publish(subject_for(msg), encode(msg) if data is None else data,
                                     headers=headers)
    finally:
        await nc.close()


async def settled(broker: Broker, consumer: str) -> bool:
    """Every message of the consumer's filter delivered and acked."""
    info = await broker.jetstream().consumer_info(STREAM, consumer)
    return info.num_ack_pending == 0 and info.num_pending == 0


async def dead_letters_of(broker: Broker, consumer: str, count: int) -> list[nats.aio.msg.Msg]:
    sub = await broker.jetstream().pull_subscribe(f"souk-dlq.{consumer}", stream=DLQ_STREAM)
    try:
        return list(await sub.fetch(count, timeout=5))
    finally:
        await sub.unsubscribe()


def recording(handlers: MessageHandlers, contract: type[Event], value: int) -> None:
    """A handler of ``contract`` that records each application as ``value``."""

    async def record(event: Event, tx: MessageTx, meta: Incoming) -> None:
        await tx.execute("INSERT INTO effects (msg_id, value) VALUES (:id, :v)",
                         {"id": meta.id, "v": value})

    record.__annotations__["event"] = contract
    handlers.on(contract)(record)


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


class Pings:
    """A batched writer: counts what the handlers added, publishes the count when flushed."""

    made: ClassVar[list[Pings]] = []

    def __init__(self, tx: MessageTx) -> None:
        self.tx, self.n = tx, 0
        Pings.made.append(self)

    async def flush(self) -> None:
        if self.n > 2:
            raise ValueError("too many")
        self.tx.publish(Pinged(n=self.n), msg_id=f"pings-{time.time_ns()}")


async def test_a_batched_writer_is_one_per_transaction_flushed_at_its_end_inside_it(
        db: Database) -> None:
    Pings.made.clear()
    async with db.transaction() as raw:
        tx = MessageTx(raw)
        tx.batched(Pings).n += 1
        tx.batched(Pings).n += 1
        await tx.flush_outbox()
        rows = await raw.fetch_all("SELECT payload FROM outbox")
    assert len(Pings.made) == 1
    assert [orjson.loads(row["payload"])["n"] for row in rows] == [2]  # flushed before the outbox

    with pytest.raises(ValueError, match="too many"):
        async with db.transaction() as raw:
            tx = MessageTx(raw)
            tx.batched(Pings).n = 3
            await tx.flush_outbox()  # the flush fails: the whole transaction is rolled back
    async with db.transaction(readonly=True) as raw:
        assert await raw.fetch_value("SELECT count(*) FROM outbox") == 1


async def test_a_poison_message_is_dead_lettered_and_the_consumer_keeps_going(
        db: Database, broker: Broker, nats_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from prometheus_client import generate_latest

    from chassis.logging import configure_logging

    configure_logging("demo", "demo-1")
    consumer = f"poison-{time.time_ns()}"
    registry = CollectorRegistry()
    m = Messaging(db, broker, consumer, registry, FaultPoints(None), max_failures=3,
                  nak_delay=0.05)
    dead_series = f'souk_dead_letters_total{{consumer="{consumer}",service="{consumer}"}}'

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
    # at 0 from the start: the first dead letter is an increase a dashboard's rate() shows
    assert f"{dead_series} 0.0" in generate_latest(registry).decode()
    stamp = time.time_ns()
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    await raw_publish(nats_url, Pinged(n=-1), nats_id=f"bad-{stamp}", souk_id=f"bad-{stamp}",
                      correlation="order-7", traceparent=f"00-{trace}-00f067aa0ba902b7-01")
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
    assert dead.headers["Souk-Dlq-Failures"] == "3"
    assert f"{dead_series} 1.0" in generate_latest(registry).decode()
    # the line says which checkout it was: souk logs --trace finds it
    [line] = [json.loads(raw) for raw in capsys.readouterr().out.splitlines()
              if '"message dead-lettered"' in raw]
    assert (line["trace_id"], line["correlation_id"]) == (trace, "order-7")
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


async def test_a_message_that_is_not_text_is_dead_lettered_and_its_batch_mates_applied(
        db: Database, broker: Broker, nats_url: str) -> None:
    """Item 10: bytes that are not UTF-8, or a NUL (which PostgreSQL's text refuses), go to the
    dead-letter stream unchanged; the messages delivered in the same batch are applied."""
    consumer = f"bytes-{time.time_ns()}"
    stamp = time.time_ns()
    bad = {f"not-utf8-{stamp}": b"\xff\xfe{not text", f"nul-{stamp}": b'{"n": 1}\x00'}
    good = [f"fine-{stamp}-{i}" for i in range(6)]
    await ensure_streams(broker.jetstream())
    # published before the consumer starts, so that they reach it together, in one batch
    for i, msg_id in enumerate(good[:3]):
        await raw_publish(nats_url, Pinged(n=i), nats_id=msg_id, souk_id=msg_id)
    for msg_id, data in bad.items():
        await raw_publish(nats_url, Pinged(n=0), nats_id=msg_id, souk_id=msg_id, data=data)
    for i, msg_id in enumerate(good[3:]):
        await raw_publish(nats_url, Pinged(n=i), nats_id=msg_id, souk_id=msg_id)
    m = make_messaging(db, broker, consumer)
    handlers = MessageHandlers()
    recording(handlers, Pinged, 1)
    m.subscribe(handlers, {})
    await m.start()

    async def done() -> bool:
        return (await m.outbox_stats())["dead_letters"] == 2 and set(good) <= set(
            await effects(db)) and await settled(broker, consumer)

    await eventually(done, timeout=20)
    letters = {d.headers["Souk-Msg-Id"]: d.data for d in await dead_letters_of(broker, consumer, 2)
               if d.headers}
    assert letters == bad  # the very bytes that arrived

    async def outbox_drained() -> bool:
        return (await m.outbox_stats())["pending"] == 0

    await eventually(outbox_drained)
    await m.close()


async def test_redeliveries_after_the_ack_wait_do_not_count_as_failures(
        db: Database, broker: Broker, nats_url: str) -> None:
    """Item 11: a consumer that fell behind (its message delivered and redelivered after the ack
    wait) retries the message after its handler's first failure instead of dead-lettering it."""
    consumer = f"behind-{time.time_ns()}"
    js = broker.jetstream()
    await ensure_streams(js)
    await ensure_consumer(js, consumer, [subject_for(Pinged)], ack_wait=0.5)
    msg_id = f"late-{time.time_ns()}"
    await raw_publish(nats_url, Pinged(n=5), nats_id=msg_id, souk_id=msg_id)
    # delivered to a process that never acked it (it died, or was too slow), twice
    sub = await js.pull_subscribe_bind(consumer, STREAM)
    deliveries = 0
    for _ in range(20):
        deliveries += sum(1 for msg in await sub.fetch(100, timeout=5)
                          if (msg.headers or {}).get("Souk-Msg-Id") == msg_id)
        if deliveries >= 2:
            break
    await sub.unsubscribe()
    assert deliveries >= 2

    calls: list[int] = []
    m = make_messaging(db, broker, consumer, max_failures=2, nak_delay=0.05, ack_wait=0.5)
    handlers = MessageHandlers()

    @handlers.on(Pinged)
    async def on_pinged(event: Pinged, tx: MessageTx, meta: Incoming) -> None:
        if meta.id == msg_id:
            calls.append(meta.delivered)
            if meta.delivered == calls[0]:  # fails on its first delivery here (batch and alone)
                raise RuntimeError("a passing failure")
        await tx.execute("INSERT INTO effects (msg_id, value) VALUES (:id, :v)",
                         {"id": meta.id, "v": event.n})

    m.subscribe(handlers, {})
    await m.start()

    async def applied() -> bool:
        return msg_id in await effects(db)

    await eventually(applied, timeout=15)
    assert (await m.outbox_stats())["dead_letters"] == 0
    assert calls[0] >= 3  # its first failure came on its third delivery or later
    async with db.transaction(readonly=True) as tx:  # applied: its count went with it
        assert await tx.fetch_value("SELECT COUNT(*) FROM message_failures") == 0
    await m.close()


async def test_handler_failures_are_counted_across_a_restart(
        db: Database, broker: Broker, nats_url: str) -> None:
    """Item 11: the failures are counted in the service's database: a restarted consumer
    dead-letters the message after the failures still missing, not after a fresh count."""
    consumer = f"restart-{time.time_ns()}"
    msg_id = f"doomed-{time.time_ns()}"
    calls: list[int] = []
    handlers = MessageHandlers()

    @handlers.on(Pinged)
    async def on_pinged(event: Pinged, meta: Incoming) -> None:
        if meta.id == msg_id:
            calls.append(meta.delivered)
            raise RuntimeError("never works")

    async def failures() -> int:
        async with db.transaction(readonly=True) as tx:
            return int(await tx.fetch_value(
                "SELECT COALESCE(MAX(failures), 0) FROM message_failures WHERE msg_id = :id",
                {"id": msg_id}) or 0)

    first = make_messaging(db, broker, consumer, max_failures=3, nak_delay=1.0)
    first.subscribe(handlers, {})
    await first.start()
    await first.wait_started(10)
    await raw_publish(nats_url, Pinged(n=1), nats_id=msg_id, souk_id=msg_id)

    async def failed_twice() -> bool:
        return await failures() == 2

    await eventually(failed_twice, timeout=15)
    await first.close()
    second = make_messaging(db, broker, consumer, max_failures=3, nak_delay=1.0)
    second.subscribe(handlers, {})
    await second.start()

    async def dead() -> bool:
        return (await second.outbox_stats())["dead_letters"] == 1

    await eventually(dead, timeout=15)
    assert sorted(set(calls)) == [1, 2, 3]  # three deliveries (each tried in its batch, then alone)
    assert await failures() == 0  # dead-lettered: its count went with it
    [letter] = await dead_letters_of(broker, consumer, 1)
    assert letter.headers is not None and letter.headers["Souk-Dlq-Failures"] == "3"
    await second.close()


async def test_a_rolling_deploy_that_adds_a_handler_loses_no_message(
        db: Database, broker: Broker) -> None:
    """Item 12: instances of one service, an old version (Pinged only) and a new one (Pinged and
    Ponged), share the durable consumer. The old one starting last does not narrow its filter,
    and a Ponged it receives is left (nak'ed) for an instance that can apply it."""
    service = f"rolling-{time.time_ns()}"
    old_handlers, new_handlers = MessageHandlers(), MessageHandlers()
    recording(old_handlers, Pinged, 1)
    recording(new_handlers, Pinged, 2)
    recording(new_handlers, Ponged, 2)

    async def instance(handlers: MessageHandlers) -> tuple[Broker, Messaging]:
        own = Broker(broker.url, name=service)  # an instance's own connection
        await own.start()
        await own.wait_connected(5)
        m = make_messaging(db, own, service, defer_delay=0.2)
        m.subscribe(handlers, {})
        await m.start()
        await m.wait_started(10)
        return own, m

    new_broker, new = await instance(new_handlers)
    old_broker, old = await instance(old_handlers)  # an old instance restarted mid-deploy
    info = await broker.jetstream().consumer_info(STREAM, service)
    assert subject_for(Ponged) in filter_of(info.config)

    await new.close()  # the new instance goes away for a while: only the old one runs
    await new_broker.close()
    stamp = time.time_ns()
    pongs = [f"pong-{stamp}-{i}" for i in range(10)]
    pings = [f"ping-{stamp}-{i}" for i in range(10)]
    async with old.transaction() as tx:
        for i, (pong, ping) in enumerate(zip(pongs, pings, strict=True)):
            tx.publish(Ponged(n=i), msg_id=pong)
            tx.publish(Pinged(n=i), msg_id=ping)

    def deferred() -> float:
        return sum(sample.value for metric in old.metrics._consumed.collect()
                   for sample in metric.samples
                   if sample.labels.get("outcome") == "deferred"
                   and sample.name.endswith("_total"))

    async def old_applied_pings_and_left_pongs() -> bool:
        done = await effects(db)
        return set(pings) <= set(done) and deferred() >= len(pongs)

    await eventually(old_applied_pings_and_left_pongs, timeout=20)
    assert not set(pongs) & set(await effects(db))

    new_broker, new = await instance(new_handlers)  # the new version is back

    async def every_pong_applied_by_the_new_version() -> bool:
        done = await effects(db)
        return all(done.get(p) == 2 for p in pongs) and await settled(broker, service)

    await eventually(every_pong_applied_by_the_new_version, timeout=20)
    for m, b in ((old, old_broker), (new, new_broker)):
        await m.close()
        await b.close()


async def test_a_retired_type_is_acked_unapplied_and_leaves_the_filter(
        db: Database, broker: Broker) -> None:
    service = f"retiring-{time.time_ns()}"
    before = MessageHandlers()
    recording(before, Pinged, 1)
    recording(before, Ponged, 1)
    m = make_messaging(db, broker, service)
    m.subscribe(before, {})
    await m.start()
    await m.wait_started(10)
    await m.close()

    after = MessageHandlers()
    recording(after, Pinged, 2)
    after.retire(Ponged.TYPE)
    m = make_messaging(db, broker, service)
    m.subscribe(after, {})
    await m.start()
    await m.wait_started(10)
    info = await broker.jetstream().consumer_info(STREAM, service)
    await m.close()
    assert filter_of(info.config) == [subject_for(Pinged)], info.config


async def test_published_rows_whose_delete_failed_leave_the_outbox_once_it_succeeds(
        db: Database, broker: Broker) -> None:
    """Item 9: a relay that cannot delete its published rows (the database refuses) keeps them
    and deletes them once it can, without a restart."""
    refuse = {"sqlite": ["CREATE TRIGGER refuse BEFORE DELETE ON outbox "
                         "BEGIN SELECT RAISE(ABORT, 'deletes refused'); END"],
              "postgresql": ["CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                             "$$ BEGIN RAISE EXCEPTION 'deletes refused'; END $$",
                             "CREATE TRIGGER refuse BEFORE DELETE ON outbox "
                             "FOR EACH ROW EXECUTE FUNCTION refuse()"]}
    allow = {"sqlite": "DROP TRIGGER refuse", "postgresql": "DROP TRIGGER refuse ON outbox"}
    async with db.transaction() as tx:
        for sql in refuse[db.dialect]:
            await tx.execute(sql)
    m = make_messaging(db, broker, f"refused-{time.time_ns()}")
    await m.start()
    await m.wait_started(10)
    stamp = time.time_ns()
    async with m.transaction() as tx:
        for i in range(20):
            tx.publish(Pinged(n=i), msg_id=f"kept-{stamp}-{i}")

    async def refused_twice() -> bool:
        return m.metrics.publish_failures._value.get() >= 2

    await eventually(refused_twice)
    assert (await m.outbox_stats())["pending"] == 20
    async with db.transaction() as tx:
        await tx.execute(allow[db.dialect])

    async def drained() -> bool:
        return (await m.outbox_stats())["pending"] == 0

    await eventually(drained, timeout=15)
    await m.close()


async def test_two_versions_widening_the_filter_at_once_both_keep_their_types(
        broker: Broker) -> None:
    # two instances of different versions starting together: each reads the filter, adds its
    # own types and writes it; unserialised, the last write dropped the other's types, and the
    # shared consumer skipped their messages for good
    js = broker.jetstream()
    await ensure_streams(js)
    pinged = subject_for(Pinged)
    for attempt in range(5):
        durable = f"widening-{time.time_ns()}-{attempt}"
        await ensure_consumer(js, durable, [pinged], ack_wait=5.0)
        await asyncio.gather(
            ensure_consumer(js, durable, [pinged, f"{pinged}.a"], ack_wait=5.0),
            ensure_consumer(js, durable, [pinged, f"{pinged}.b"], ack_wait=5.0))
        info = await js.consumer_info(STREAM, durable)
        assert filter_of(info.config) == sorted([pinged, f"{pinged}.a", f"{pinged}.b"]), attempt
        await js.delete_consumer(STREAM, durable)


async def test_an_injected_consumer_error_is_a_handler_failure_dead_lettered_in_the_end(
        db: Database, broker: Broker, nats_url: str) -> None:
    from chassis.fault_rules import ActiveFaults, ConsumerFault

    consumer = f"faulted-{time.time_ns()}"
    faults = ActiveFaults()
    faults.set_consumers([ConsumerFault(type="Pinged", error_rate=1.0)])
    m = make_messaging(db, broker, consumer, max_failures=3, nak_delay=0.05,
                       active_faults=faults)
    handlers = MessageHandlers()
    recording(handlers, Pinged, 1)
    recording(handlers, Ponged, 2)
    m.subscribe(handlers, {})
    await m.start()
    await m.wait_started(10)
    stamp = time.time_ns()
    await raw_publish(nats_url, Pinged(n=1), nats_id=f"f-{stamp}", souk_id=f"f-{stamp}")
    await raw_publish(nats_url, Ponged(n=1), nats_id=f"g-{stamp}", souk_id=f"g-{stamp}")

    async def dead() -> bool:
        return (await m.outbox_stats())["dead_letters"] == 1 and f"g-{stamp}" in await effects(db)

    await eventually(dead, timeout=15)
    assert f"f-{stamp}" not in await effects(db)
    [letter] = await dead_letters_of(broker, consumer, 1)
    assert letter.headers is not None
    assert "injected fault" in letter.headers["Souk-Dlq-Error"]
    assert letter.headers["Souk-Dlq-Failures"] == "3"
    faults.set_consumers([])  # healed: the next one is applied
    await raw_publish(nats_url, Pinged(n=2), nats_id=f"h-{stamp}", souk_id=f"h-{stamp}")

    async def applied() -> bool:
        return f"h-{stamp}" in await effects(db)

    await eventually(applied)
    await m.close()


async def test_a_dropped_message_stays_unacked_and_is_applied_once_healed(
        db: Database, broker: Broker, nats_url: str) -> None:
    from chassis.fault_rules import ActiveFaults, ConsumerFault

    consumer = f"dropping-{time.time_ns()}"
    faults = ActiveFaults()
    faults.set_consumers([ConsumerFault(type="*", drop_rate=1.0)])
    m = make_messaging(db, broker, consumer, ack_wait=1.0, active_faults=faults)
    handlers = MessageHandlers()
    recording(handlers, Pinged, 1)
    m.subscribe(handlers, {})
    await m.start()
    await m.wait_started(10)
    stamp = time.time_ns()
    await raw_publish(nats_url, Pinged(n=1), nats_id=f"d-{stamp}", souk_id=f"d-{stamp}")

    async def redelivered_unacked() -> bool:
        info = await broker.jetstream().consumer_info(STREAM, consumer)
        return info.num_redelivered >= 1 and info.num_ack_pending == 1

    await eventually(redelivered_unacked, timeout=15)
    assert f"d-{stamp}" not in await effects(db)
    faults.set_consumers([])

    async def applied() -> bool:
        return f"d-{stamp}" in await effects(db) and await settled(broker, consumer)

    await eventually(applied, timeout=15)
    await m.close()


async def test_a_consumer_delay_holds_each_message_back_once_not_the_batch_for_their_sum(
        db: Database, broker: Broker, nats_url: str) -> None:
    """10 messages under a 0.5 s delay fault are all handled after about a second (one or two
    batches, each waiting its longest delay); a batch that waited the sum of its messages'
    delays took 5 s and grew with the batch size, past the ack wait."""
    from chassis.fault_rules import ActiveFaults, ConsumerFault

    consumer = f"delayed-{time.time_ns()}"
    faults = ActiveFaults()
    faults.set_consumers([ConsumerFault(type="*", latency_ms=500)])
    m = make_messaging(db, broker, consumer, active_faults=faults)
    handlers = MessageHandlers()
    recording(handlers, Pinged, 1)
    m.subscribe(handlers, {})
    await m.start()
    await m.wait_started(10)
    stamp = time.time_ns()
    ids = [f"l-{stamp}-{n}" for n in range(10)]
    nc = await nats.connect(nats_url)
    began = time.monotonic()
    try:
        for n, msg_id in enumerate(ids):
            await nc.jetstream().publish(subject_for(Pinged(n=n)), encode(Pinged(n=n)), headers={
                "Nats-Msg-Id": msg_id, "Souk-Msg-Id": msg_id, "Souk-Type": Pinged.TYPE})
    finally:
        await nc.close()

    async def all_applied() -> bool:
        return set(ids) <= set(await effects(db))

    await eventually(all_applied, timeout=15)
    took = time.monotonic() - began
    assert 0.5 <= took < 3.5, f"10 messages delayed 0.5 s each took {took:.2f} s"
    await m.close()


async def test_a_batch_applies_each_message_once_whatever_its_copies_in_and_before_it(
        db: Database, broker: Broker, nats_url: str) -> None:
    """A batch claims its inbox rows together on PostgreSQL (one at a time on SQLite): a message
    applied before is a duplicate, and of two copies in one batch only the first is applied."""
    consumer = f"batch-{time.time_ns()}"
    stamp = time.time_ns()
    before, twice = f"before-{stamp}", f"twice-{stamp}"
    fresh = [f"fresh-{stamp}-{i}" for i in range(3)]
    calls: list[str] = []
    batches: list[frozenset[str]] = []  # what each call's transaction says its batch is
    handlers = MessageHandlers()

    @handlers.on(Pinged)
    async def on_pinged(event: Pinged, tx: MessageTx, meta: Incoming) -> None:
        calls.append(meta.id)
        batches.append(tx.batch_correlation_ids)
        assert meta.correlation_id in tx.batch_correlation_ids
        await tx.execute("INSERT INTO effects (msg_id, value) VALUES (:id, :n)",
                         {"id": meta.id, "n": event.n})  # a second application would fail

    await ensure_streams(broker.jetstream())
    await raw_publish(nats_url, Pinged(n=1), nats_id=before, souk_id=before,
                      correlation=f"order-{before}")
    first = make_messaging(db, broker, consumer)
    first.subscribe(handlers, {})
    await first.start()

    async def applied_before() -> bool:
        return before in await effects(db) and await settled(broker, consumer)

    await eventually(applied_before, timeout=20)
    await first.close()
    # published while no consumer runs, so that they reach the next one together, in one batch
    await raw_publish(nats_url, Pinged(n=2), nats_id=f"{before}-again", souk_id=before,
                      correlation=f"order-{before}")
    await raw_publish(nats_url, Pinged(n=3), nats_id=f"{twice}-a", souk_id=twice,
                      correlation=f"order-{twice}")
    for n, msg_id in enumerate(fresh, start=4):
        await raw_publish(nats_url, Pinged(n=n), nats_id=msg_id, souk_id=msg_id,
                          correlation=f"order-{msg_id}")
    await raw_publish(nats_url, Pinged(n=9), nats_id=f"{twice}-b", souk_id=twice,
                      correlation=f"order-{twice}")
    calls.clear()
    batches.clear()
    second = make_messaging(db, broker, consumer)
    second.subscribe(handlers, {})
    await second.start()

    async def applied_batch() -> bool:
        return set(fresh) | {twice} <= set(await effects(db)) and await settled(broker, consumer)

    await eventually(applied_batch, timeout=20)
    await second.close()
    # each once, in one try (a duplicate effect would have failed the batch and shown here twice)
    assert sorted(calls) == sorted([twice, *fresh]), calls
    # the batch's transaction names the correlation ids of all its messages (for a read ahead)
    published = {f"order-{msg_id}" for msg_id in (before, twice, *fresh)}
    assert all(batch <= published for batch in batches)
    assert max(len(batch) for batch in batches) > 1, batches
    assert {k: v for k, v in (await effects(db)).items() if k in (before, twice)} == {
        before: 1, twice: 3}
