"""A durable consumer: batches of messages applied in one transaction each, with the inbox.

For each batch: one transaction records every message's ``(consumer, message id)`` in ``inbox``
(a message already there is a redelivery and is skipped), runs the handlers, and writes what they
publish to the outbox; the acks go out after the commit. When a batch fails it is rolled back and
its messages are applied one per transaction, so one bad message cannot hold up the others: each
failure of its handler is counted in ``message_failures`` (in the database, so a restart keeps the
count; JetStream's delivery count would include redeliveries after the ack wait) and the message
is nak'ed with a growing delay; after ``max_failures`` failures (at once when it cannot even be
parsed) it is dead-lettered.

A message of a type this process has no handler for is never acked: it is nak'ed with a delay,
so that an instance that can apply it does (during a rolling deploy that adds a handler, the
instances still running the old code share the durable consumer with the new ones). Only a type
the service declared retired (``MessageHandlers.retire``) is acked unapplied.

Faults switched on live (``ConsumerFault``, by wire name ``payments.PaymentAuthorized.v1``, class
name ``PaymentAuthorized`` or ``"*"``) are decided per message before its batch: a delay (the
batch waits for the delays of its messages, as slow handlers would make it), a drop (the message
is left unacknowledged: JetStream redelivers it after the ack wait), or an error (its handler
fails: counted, nak'ed, dead-lettered after ``max_failures`` like any failure). While none is on
they cost one truth test per batch and one per message.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from chassis.logging import get_logger
from chassis.messaging.envelope import (
    CORRELATION,
    DLQ_PREFIX,
    MSG_ID,
    NATS_MSG_ID,
    STREAM,
    TYPE,
    Incoming,
)
from chassis.messaging.pull import CreditPull, delivered_count
from chassis.messaging.tx import MessageTx
from chassis.tasks import cancel_and_wait
from chassis.tracing import SpanKind, extract, parse_traceparent
from contracts import Message, decode

if TYPE_CHECKING:
    from chassis.messaging.core import Messaging

__all__ = ["Consumer", "Handler", "InjectedFault", "Subscription"]

log = get_logger(__name__)

Handler = Callable[[MessageTx, Any, Incoming], Awaitable[None]]

INSERT_INBOX = ("INSERT INTO inbox (consumer, msg_id, processed_at) VALUES (:consumer, :msg_id, :at) "
                "ON CONFLICT (consumer, msg_id) DO NOTHING")
# PostgreSQL: a batch's inbox rows in one statement (one round trip instead of one a message);
# the ids it returns are the messages not applied before
CLAIM_INBOX = ("INSERT INTO inbox (consumer, msg_id, processed_at) "
               "SELECT CAST(:consumer AS text), id, CAST(:at AS double precision) "
               "FROM unnest(CAST(:ids AS text[])) AS id "
               "ON CONFLICT (consumer, msg_id) DO NOTHING RETURNING msg_id")
INSERT_DEAD = ("INSERT INTO dead_letters (consumer, msg_id, subject, error, deliveries, dead_at) "
               "VALUES (:consumer, :msg_id, :subject, :error, :deliveries, :at) "
               "ON CONFLICT (consumer, msg_id) DO NOTHING")
COUNT_FAILURE = ("INSERT INTO message_failures (consumer, msg_id, failures, error, failed_at) "
                 "VALUES (:consumer, :msg_id, 1, :error, :at) ON CONFLICT (consumer, msg_id) DO "
                 "UPDATE SET failures = message_failures.failures + 1, error = excluded.error, "
                 "failed_at = excluded.failed_at RETURNING failures")
FORGET_FAILURES = "DELETE FROM message_failures WHERE consumer = :consumer AND msg_id = :msg_id"
MAX_ID = 200  # the inbox's msg_id column
MAX_DELAY = 60.0  # seconds, the longest a failed message waits for its next try


@dataclass(frozen=True)
class Subscription:
    """What a consumer handles: contract class → handler, and the type names it no longer
    handles on purpose (acked unapplied)."""

    handlers: Mapping[type[Message], Handler]
    retired: frozenset[str] = frozenset()

    def by_type(self) -> dict[str, tuple[type[Message], Handler]]:
        return {model.TYPE: (model, handler) for model, handler in self.handlers.items()}


class InjectedFault(Exception):
    """A handler failure a consumer fault switched on (``fault_consumers``)."""


class _Permanent(Exception):
    """A message that can never succeed (it does not parse): dead-letter it at once."""


def _storable(msg_id: str) -> bool:
    return 0 < len(msg_id) <= MAX_ID and "\x00" not in msg_id


def _key(item: Incoming) -> str:
    """The message's key in this service's tables (its id, unless that cannot be stored)."""
    return item.id if _storable(item.id) else f"{item.subject}:{item.stream_seq}"


def _printable(text: str) -> str:
    """``text`` fit for a header and a text column (no NUL, no line breaks)."""
    return "".join(c if c.isprintable() else " " for c in text)


class Consumer:
    def __init__(self, messaging: Messaging, name: str, subscription: Subscription, *,
                 batch: int = 100, max_failures: int = 5, nak_delay: float = 0.5,
                 defer_delay: float = 1.0) -> None:
        self.name = name
        self._messaging = messaging
        self._routes = subscription.by_type()
        self.retired = sorted(subscription.retired)
        self._batch = batch
        self._max_failures = max_failures
        self._nak_delay = nak_delay
        self._defer_delay = defer_delay
        self._queue: deque[Any] = deque()
        self._ready = asyncio.Event()
        self._pull: CreditPull | None = None
        self._task: asyncio.Task[None] | None = None
        self._metrics = metrics = messaging.metrics
        # the series exist from the start at 0: a first dead letter is then an increase a
        # dashboard's rate() shows (a series born at 1 is read as its own starting point)
        metrics.redeliveries.labels(messaging.service, name)
        metrics.dead_letters.labels(messaging.service, name)
        self._doomed: frozenset[str] = frozenset()  # ids whose handling a fault fails now

    @property
    def subjects(self) -> list[str]:
        return sorted("souk." + name for name in self._routes)

    async def start(self, nc: Any) -> None:
        self._pull = CreditPull(nc, STREAM, self.name, self._queue_message, window=self._batch * 2)
        self._pull.set_backlog(lambda: len(self._queue))
        await self._pull.start()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        if self._pull is not None:
            await self._pull.close()

    def _queue_message(self, msg: Any) -> None:
        self._queue.append(msg)
        self._ready.set()

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
                try:
                    await self._apply_batch(batch)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database itself failing: let JetStream redeliver later
                    log.exception("consumer batch failed outside the handlers", consumer=self.name)
                    await asyncio.sleep(1.0)
                if self._pull is not None:
                    await self._pull.top_up()

    def _incoming(self, msg: Any) -> Incoming:
        headers = msg.headers or {}
        delivered, seq, _ = delivered_count(msg.reply or "")
        msg_id = headers.get(MSG_ID) or headers.get(NATS_MSG_ID) or f"{msg.subject}:{seq}"
        type_name = headers.get(TYPE) or msg.subject.removeprefix("souk.")
        return Incoming(id=msg_id, type=type_name, subject=msg.subject, data=msg.data,
                        headers=headers, delivered=delivered, stream_seq=seq, reply=msg.reply or "")

    async def _apply_batch(self, batch: list[Any]) -> None:
        started = time.perf_counter()
        items = [self._incoming(m) for m in batch]
        if self._messaging.active_faults.consumers:  # one truth test while no fault is on
            batch, items, self._doomed = await self._inject(batch, items)
            try:
                await self._apply_items(batch, items, started)
            finally:
                self._doomed = frozenset()
            return
        await self._apply_items(batch, items, started)

    async def _inject(self, batch: list[Any], items: list[Incoming],
                      ) -> tuple[list[Any], list[Incoming], frozenset[str]]:
        """Decide each message's fault: wait the delays, leave the dropped ones unacked, and
        return what is left with the ids whose handling must fail. A batch waits its longest
        delay, not their sum: each message is handled ``latency_ms`` late, as one message alone
        would be (a sum grew with the batch, past the ack wait, and outlived the fault)."""
        faults = self._messaging.active_faults
        kept_msgs, kept, doomed, delay = [], [], set(), 0.0
        for msg, item in zip(batch, items, strict=True):
            route = self._routes.get(item.type)
            rule = None if route is None else faults.consumer(item.type, route[0].__name__)
            if rule is not None:
                if rule.latency_ms and random.random() < rule.latency_rate:  # noqa: S311 (not a secret)
                    delay = max(delay, rule.latency_ms / 1000)
                draw = random.random()  # noqa: S311
                if draw < rule.drop_rate:
                    self._metrics.consumed(self.name, item.type, "dropped")
                    continue  # never acked: redelivered after the ack wait
                if draw < rule.drop_rate + rule.error_rate:
                    doomed.add(item.id)
            kept_msgs.append(msg)
            kept.append(item)
        if delay:
            await faults.delay(delay)
        return kept_msgs, kept, frozenset(doomed)

    async def _apply_items(self, batch: list[Any], items: list[Incoming], started: float) -> None:
        if not items:
            return
        for item in items:
            if item.delivered > 1:
                self._metrics.redeliveries.labels(self._messaging.service, self.name).inc()
        try:
            async with self._messaging.transaction() as tx:
                tx.batch_correlation_ids = frozenset(
                    item.correlation_id for item in items if item.correlation_id)
                fresh = await self._claim_inbox(tx, items)
                outcomes = [await self._apply(tx, item, fresh) for item in items]
        except Exception as exc:
            log.warning("batch failed; applying its messages one by one", consumer=self.name,
                        size=len(items), error=repr(exc))
            for msg, item in zip(batch, items, strict=True):
                try:
                    await self._apply_alone(msg, item)
                except Exception:  # not acked: redelivered after the ack wait; the others go on
                    log.exception("message left unsettled", consumer=self.name, msg_id=item.id)
            return
        self._messaging.faults.crash_point("consumer.after-commit")
        for msg, item, outcome in zip(batch, items, outcomes, strict=True):
            await self._settle(msg, item, outcome)
        self._metrics.batch_seconds.labels(self._messaging.service, self.name).observe(
            time.perf_counter() - started)

    async def _claim_inbox(self, tx: MessageTx, items: list[Incoming]) -> set[str] | None:
        """On PostgreSQL, the inbox rows of a batch of several messages written at once: the ids
        of those not applied before (each claimed once, so a second copy in the batch is a
        duplicate, as it would be one at a time). None: each message writes its own
        (SQLite, where a statement costs no round trip, or a batch of one)."""
        if tx.dialect != "postgresql" or len(items) < 2:
            return None
        ids = [item.id for item in items if item.type in self._routes and _storable(item.id)]
        if len(ids) < 2:
            return None
        rows = await tx.fetch_all(CLAIM_INBOX, {"consumer": self.name, "ids": ids,
                                                "at": time.time()})
        return {str(row["msg_id"]) for row in rows}

    async def _apply(self, tx: MessageTx, item: Incoming, fresh: set[str] | None = None) -> str:
        route = self._routes.get(item.type)
        if route is None:  # retired here, or handled by a newer version of this service
            return "retired" if item.type in self.retired else "deferred"
        if not _storable(item.id):
            raise _Permanent(f"its message id cannot be stored ({len(item.id)} characters)")
        if fresh is None:
            inserted = await tx.execute(INSERT_INBOX, {"consumer": self.name, "msg_id": item.id,
                                                       "at": time.time()})
        else:  # claimed with the batch
            inserted = item.id in fresh
            fresh.discard(item.id)
        if not inserted:
            return "duplicate"
        if self._doomed and item.id in self._doomed:
            raise InjectedFault(f"injected fault on {item.type} (fault_consumers)")
        model, handler = route
        try:
            message = decode(item.data, model)
        except msgspec.DecodeError as exc:  # ValidationError is a DecodeError too
            raise _Permanent(f"{item.type} does not parse: {exc}") from exc
        tx.correlation_id = item.correlation_id
        tracing = self._messaging.tracing
        parent = extract(item.headers) if tracing.enabled else None
        if parent is None:  # not traced here, or an untraced message: pass the context on as is
            tx.trace_headers = {k: v for k, v in item.headers.items() if k == "traceparent"}
            await handler(tx, message, item)
            return await self._applied(tx, item)
        # the span's name has the type, the resource the service: only what a search needs
        attributes: dict[str, Any] = {"souk.order_id": item.correlation_id}
        if item.delivered > 1:
            attributes["messaging.message.delivery_count"] = item.delivered
        with tracing.span(f"consume {item.type}", kind=SpanKind.CONSUMER, parent=parent,
                          attributes=attributes):
            await handler(tx, message, item)
        return await self._applied(tx, item)

    async def _applied(self, tx: MessageTx, item: Incoming) -> str:
        if item.delivered > 1:  # it may have failed before: its count goes with its success
            await tx.execute(FORGET_FAILURES, {"consumer": self.name, "msg_id": item.id})
        return "applied"

    async def _settle(self, msg: Any, item: Incoming, outcome: str) -> None:
        """Ack what is done; nak (with a delay) what this process has no handler for."""
        if outcome == "deferred":
            delay = min(self._defer_delay * item.delivered, 5.0)
            await self._messaging.broker.nc.publish(msg.reply, _nak(delay))
        else:
            await self._messaging.broker.nc.publish(msg.reply, b"+ACK")
        self._metrics.consumed(self.name, item.type, outcome)

    async def _apply_alone(self, msg: Any, item: Incoming) -> None:
        try:
            async with self._messaging.transaction() as tx:
                outcome = await self._apply(tx, item)
        except Exception as exc:
            await self._failed(msg, item, exc)
            return
        self._messaging.faults.crash_point("consumer.after-commit")
        await self._settle(msg, item, outcome)

    async def _failed(self, msg: Any, item: Incoming, exc: Exception) -> None:
        """Count the handler's failure; nak the message with a growing delay, or dead-letter it
        once it failed ``max_failures`` times (at once when it can never succeed)."""
        nc = self._messaging.broker.nc
        error = _printable(str(exc) or type(exc).__name__)
        failures = 0
        if not isinstance(exc, _Permanent):
            try:
                failures = await self._count_failure(item, error)
            except Exception as count_exc:  # the database is away: try again later, uncounted
                log.warning("message failed; its failure could not be recorded", consumer=self.name,
                            type=item.type, msg_id=item.id, error=error, why=repr(count_exc))
                await nc.publish(msg.reply, _nak(self._nak_delay * 2))
                return
            if failures < self._max_failures:
                log.warning("message failed; will be redelivered", consumer=self.name,
                            type=item.type, msg_id=item.id, failures=failures, error=error)
                self._metrics.consumed(self.name, item.type, "failed")
                await nc.publish(msg.reply, _nak(self._nak_delay * 2 ** (failures - 1)))
                return
        try:
            await self._dead_letter(item, error, failures)
        except Exception as dead_exc:  # the database is away: try again later
            log.warning("message could not be dead-lettered; will be redelivered",
                        consumer=self.name, msg_id=item.id, why=repr(dead_exc))
            await nc.publish(msg.reply, _nak(self._nak_delay * 2))
            return
        await nc.publish(msg.reply, b"+ACK")

    async def _count_failure(self, item: Incoming, error: str) -> int:
        async with self._messaging.transaction() as tx:
            return int(await tx.fetch_value(COUNT_FAILURE, {
                "consumer": self.name, "msg_id": _key(item), "error": error[:2000],
                "at": time.time()}))

    async def _dead_letter(self, item: Incoming, error: str, failures: int) -> None:
        context = parse_traceparent(item.headers.get("traceparent", ""))
        log.error("message dead-lettered", consumer=self.name, type=item.type, msg_id=item.id,
                  correlation_id=item.correlation_id, delivered=item.delivered,
                  failures=failures, error=error,  # the message's trace: souk logs --trace
                  **({"trace_id": context.trace_id} if context is not None else {}))
        key = _key(item)
        headers = {k: v for k, v in item.headers.items() if k not in ("Status", "Description")}
        headers.update({NATS_MSG_ID: f"dlq.{self.name}.{key}", "Souk-Dlq-Consumer": self.name,
                        "Souk-Dlq-Subject": item.subject, "Souk-Dlq-Error": error[:500],
                        "Souk-Dlq-Deliveries": str(item.delivered),
                        "Souk-Dlq-Failures": str(failures)})
        headers.setdefault(MSG_ID, item.id)  # its Nats-Msg-Id is the dead letter's own
        headers.setdefault(TYPE, item.type)  # its subject is the dead-letter stream's
        headers.setdefault(CORRELATION, item.correlation_id)
        async with self._messaging.transaction() as tx:
            await tx.execute(INSERT_DEAD, {"consumer": self.name, "msg_id": key,
                                           "subject": item.subject, "error": error[:2000],
                                           "deliveries": item.delivered, "at": time.time()})
            await tx.execute(FORGET_FAILURES, {"consumer": self.name, "msg_id": key})
            tx.publish_raw(DLQ_PREFIX + self.name, item.data, headers)
        self._metrics.dead_letters.labels(self._messaging.service, self.name).inc()
        self._metrics.consumed(self.name, item.type, "dead-lettered")


def _nak(delay: float) -> bytes:
    return b"-NAK " + orjson.dumps({"delay": int(min(delay, MAX_DELAY) * 1e9)})
