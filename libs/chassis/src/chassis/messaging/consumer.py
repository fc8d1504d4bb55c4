"""A durable consumer: batches of messages applied in one transaction each, with the inbox.

For each batch: one transaction records every message's ``(consumer, message id)`` in ``inbox``
(a message already there is a redelivery and is skipped), runs the handlers, and writes what they
publish to the outbox; the acks go out after the commit. When a batch fails it is rolled back and
its messages are applied one per transaction, so one bad message cannot hold up the others: it is
nak'ed with a growing delay and, after ``max_deliver`` deliveries (at once when it cannot even be
parsed), dead-lettered.
"""

from __future__ import annotations

import asyncio
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
from chassis.tracing import SpanKind, extract
from contracts import Message, decode

if TYPE_CHECKING:
    from chassis.messaging.core import Messaging

__all__ = ["Consumer", "Handler", "Subscription"]

log = get_logger(__name__)

Handler = Callable[[MessageTx, Any, Incoming], Awaitable[None]]

INSERT_INBOX = ("INSERT INTO inbox (consumer, msg_id, processed_at) VALUES (:consumer, :msg_id, :at) "
                "ON CONFLICT (consumer, msg_id) DO NOTHING")
INSERT_DEAD = ("INSERT INTO dead_letters (consumer, msg_id, subject, error, deliveries, dead_at) "
               "VALUES (:consumer, :msg_id, :subject, :error, :deliveries, :at) "
               "ON CONFLICT (consumer, msg_id) DO NOTHING")


@dataclass(frozen=True)
class Subscription:
    """What a consumer handles: contract class → handler."""

    handlers: Mapping[type[Message], Handler]

    def by_type(self) -> dict[str, tuple[type[Message], Handler]]:
        return {model.TYPE: (model, handler) for model, handler in self.handlers.items()}


class _Permanent(Exception):
    """A message that can never succeed (it does not parse): dead-letter it at once."""


class Consumer:
    def __init__(self, messaging: Messaging, name: str, subscription: Subscription, *,
                 batch: int = 100, max_deliver: int = 5, nak_delay: float = 0.5) -> None:
        self.name = name
        self._messaging = messaging
        self._routes = subscription.by_type()
        self._batch = batch
        self._max_deliver = max_deliver
        self._nak_delay = nak_delay
        self._queue: deque[Any] = deque()
        self._ready = asyncio.Event()
        self._pull: CreditPull | None = None
        self._task: asyncio.Task[None] | None = None
        self._metrics = messaging.metrics

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
        for item in items:
            if item.delivered > 1:
                self._metrics.redeliveries.labels(self._messaging.service, self.name).inc()
        try:
            async with self._messaging.transaction() as tx:
                outcomes = [await self._apply(tx, item) for item in items]
        except Exception as exc:
            log.warning("batch failed; applying its messages one by one", consumer=self.name,
                        size=len(items), error=repr(exc))
            for msg, item in zip(batch, items, strict=True):
                await self._apply_alone(msg, item)
            return
        self._messaging.faults.crash_point("consumer.after-commit")
        nc = self._messaging.broker.nc
        for msg, item, outcome in zip(batch, items, outcomes, strict=True):
            await nc.publish(msg.reply, b"+ACK")
            self._metrics.consumed(self.name, item.type, outcome)
        self._metrics.batch_seconds.labels(self._messaging.service, self.name).observe(
            time.perf_counter() - started)

    async def _apply(self, tx: MessageTx, item: Incoming) -> str:
        route = self._routes.get(item.type)
        if route is None:
            return "ignored"  # not ours (an older filter, or a type we stopped handling)
        inserted = await tx.execute(INSERT_INBOX, {"consumer": self.name, "msg_id": item.id,
                                                   "at": time.time()})
        if not inserted:
            return "duplicate"
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
            return "applied"
        # the span's name has the type, the resource the service: only what a search needs
        attributes: dict[str, Any] = {"souk.order_id": item.correlation_id}
        if item.delivered > 1:
            attributes["messaging.message.delivery_count"] = item.delivered
        with tracing.span(f"consume {item.type}", kind=SpanKind.CONSUMER, parent=parent,
                          attributes=attributes):
            await handler(tx, message, item)
        return "applied"

    async def _apply_alone(self, msg: Any, item: Incoming) -> None:
        nc = self._messaging.broker.nc
        try:
            async with self._messaging.transaction() as tx:
                outcome = await self._apply(tx, item)
        except Exception as exc:
            permanent = isinstance(exc, _Permanent)
            if permanent or item.delivered >= self._max_deliver:
                await self._dead_letter(item, exc)
                await nc.publish(msg.reply, b"+ACK")
                return
            delay = self._nak_delay * 2 ** (item.delivered - 1)
            log.warning("message failed; will be redelivered", consumer=self.name, type=item.type,
                        msg_id=item.id, delivered=item.delivered, error=repr(exc))
            self._metrics.consumed(self.name, item.type, "failed")
            await nc.publish(msg.reply, b"-NAK " + orjson.dumps({"delay": int(delay * 1e9)}))
            return
        self._messaging.faults.crash_point("consumer.after-commit")
        await nc.publish(msg.reply, b"+ACK")
        self._metrics.consumed(self.name, item.type, outcome)

    async def _dead_letter(self, item: Incoming, exc: Exception) -> None:
        error = str(exc) or type(exc).__name__
        log.error("message dead-lettered", consumer=self.name, type=item.type, msg_id=item.id,
                  delivered=item.delivered, error=error)
        headers = {k: v for k, v in item.headers.items() if k not in ("Status", "Description")}
        headers.update({NATS_MSG_ID: f"dlq.{self.name}.{item.id}", "Souk-Dlq-Consumer": self.name,
                        "Souk-Dlq-Subject": item.subject, "Souk-Dlq-Error": error[:500],
                        "Souk-Dlq-Deliveries": str(item.delivered)})
        headers.setdefault(MSG_ID, item.id)  # its Nats-Msg-Id is the dead letter's own
        headers.setdefault(TYPE, item.type)  # its subject is the dead-letter stream's
        headers.setdefault(CORRELATION, item.correlation_id)
        async with self._messaging.transaction() as tx:
            await tx.execute(INSERT_DEAD, {"consumer": self.name, "msg_id": item.id,
                                           "subject": item.subject, "error": error[:2000],
                                           "deliveries": item.delivered, "at": time.time()})
            tx.publish_raw(DLQ_PREFIX + self.name, item.data, headers)
        self._metrics.dead_letters.labels(self._messaging.service, self.name).inc()
        self._metrics.consumed(self.name, item.type, "dead-lettered")
