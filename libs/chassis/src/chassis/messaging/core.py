"""``Messaging``: the outbox, the relay and the service's durable consumer, wired together."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from chassis.db import Database
from chassis.fault_rules import ActiveFaults
from chassis.faults import FaultPoints
from chassis.logging import get_logger
from chassis.messaging.consumer import Consumer, Handler, Subscription
from chassis.messaging.handlers import MessageHandlers
from chassis.messaging.metrics import MessagingMetrics
from chassis.messaging.relay import Relay
from chassis.messaging.streams import StreamLimits, ensure_consumer, ensure_streams, filter_of
from chassis.messaging.tx import MessageTx
from chassis.tasks import cancel_and_wait
from chassis.tracing import NO_TRACING, Tracing
from contracts import Message

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from chassis.broker import Broker

__all__ = ["Messaging"]

log = get_logger(__name__)

COUNT_PENDING = "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox"
COUNT_DEAD = "SELECT COUNT(*) FROM dead_letters"
# by its index on processed_at, a batch per transaction: SQLite's one connection is never held long
PRUNE_INBOX = ("DELETE FROM inbox WHERE (consumer, msg_id) IN (SELECT consumer, msg_id FROM inbox "
               "WHERE processed_at < :before LIMIT :limit)")
PRUNE_BATCH = 1000


class Messaging:
    """One per service process.

    * ``transaction()`` — a unit of work whose ``tx.publish(...)`` goes through the outbox.
    * ``subscribe({Contract: handler, ...})`` — before ``start()``: what the service consumes.
    * ``start()`` — creates the streams and the durable consumer once NATS is reachable, starts
      the relay (which publishes what an earlier run left behind) and the consumer.

    ``ack_wait`` is short (5 s) on purpose: messages handed to a process that then died are only
    redelivered after it, and saga deadlines are a few seconds. A batch takes milliseconds, and a
    message that is redelivered while still being applied is caught by the inbox.
    """

    def __init__(self, db: Database, broker: Broker, service: str, registry: CollectorRegistry,
                 faults: FaultPoints, *, tracing: Tracing = NO_TRACING, batch: int = 100,
                 max_failures: int = 5, ack_wait: float = 5.0, nak_delay: float = 0.5,
                 defer_delay: float = 1.0, limits: StreamLimits = StreamLimits(),
                 relay_max_queued: int = 10_000, inbox_retention: float = 8 * 86_400.0,
                 active_faults: ActiveFaults | None = None) -> None:
        self.db = db
        self.broker = broker
        self.service = service
        self.faults = faults
        self.active_faults = active_faults or ActiveFaults()  # consumer faults, switched on live
        self.tracing = tracing
        self.metrics = MessagingMetrics(registry, service)
        self.relay = Relay(db, broker, self.metrics, faults, max_queued=relay_max_queued)
        self.limits = limits
        self.inbox_retention = inbox_retention
        self._handlers: dict[type[Message], Handler] = {}
        self._retired: set[str] = set()
        self._batch = batch
        self._max_failures = max_failures
        self._ack_wait = ack_wait
        self._nak_delay = nak_delay
        self._defer_delay = defer_delay
        self.consumer: Consumer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._started = asyncio.Event()

    def subscribe(self, handlers: MessageHandlers, providers: Mapping[type, Any]) -> None:
        """Add the service's handlers, their service objects taken from ``providers``."""
        if self.consumer is not None:
            raise RuntimeError("subscribe before start()")
        for contract, bound in handlers.bind(providers).items():
            if contract in self._handlers:
                raise ValueError(f"{contract.TYPE} is subscribed twice")
            self._handlers[contract] = bound
        self._retired |= handlers.retired

    @asynccontextmanager
    async def transaction(self, *, readonly: bool = False,
                          correlation_id: str = "") -> AsyncIterator[MessageTx]:
        """A database transaction with an outbox: what ``tx.publish`` records is written in the
        transaction and handed to the relay after it commits."""
        async with self.db.transaction(readonly=readonly) as raw:
            tx = MessageTx(raw, correlation_id, self.tracing, self.db.dialect)
            yield tx
            await tx.flush_outbox()
        if tx.outgoing:
            self.relay.hand_over(tx.outgoing)
        tx.run_after_commit()

    async def start(self) -> None:
        self.relay.start()
        if self._handlers:
            subscription = Subscription(dict(self._handlers), frozenset(self._retired))
            self.consumer = Consumer(self, self.service, subscription, batch=self._batch,
                                     max_failures=self._max_failures, nak_delay=self._nak_delay,
                                     defer_delay=self._defer_delay)
        self._tasks.append(asyncio.create_task(self._start_when_connected(), name="messaging-start"))
        self._tasks.append(asyncio.create_task(self._watch_lag(), name="messaging-lag"))

    async def wait_started(self, timeout: float) -> None:
        await asyncio.wait_for(self._started.wait(), timeout)

    @property
    def started(self) -> bool:
        return self._started.is_set()

    async def check(self) -> None:
        """Readiness: streams and consumer in place."""
        if not self._started.is_set():
            raise ConnectionError("messaging not started (waiting for NATS)")

    async def _start_when_connected(self) -> None:
        delay = 0.1
        while True:
            try:
                await self.broker.wait_connected(timeout=3600)
                js = self.broker.jetstream()
                await ensure_streams(js, self.limits)
                self.relay.streams_ready.set()  # publishing before would only be refused
                if self.consumer is not None:
                    await self._ensure_consumer()
                    await self.consumer.start(self.broker.nc)
                self._started.set()
                log.info("messaging started", consumer=self.consumer and self.consumer.name,
                         subjects=self.consumer and self.consumer.subjects)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("messaging start failed; retrying", error=str(exc) or repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _ensure_consumer(self) -> None:
        assert self.consumer is not None
        await ensure_consumer(self.broker.jetstream(), self.consumer.name, self.consumer.subjects,
                              ack_wait=self._ack_wait, retired=self.consumer.retired,
                              replicas=self.limits.replicas)

    async def _watch_lag(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                stats = await self.outbox_stats()
                self.metrics.outbox_pending.set(stats["pending"])
                if self.consumer is not None and self._started.is_set():
                    info = await self.broker.jetstream().consumer_info("SOUK", self.consumer.name)
                    if set(self.consumer.subjects) - set(filter_of(info.config)):
                        # another instance's update raced ours and lost our types: add them again
                        log.warning("consumer filter lacks this instance's types; adding them",
                                    consumer=self.consumer.name)
                        await self._ensure_consumer()
                    labels = (self.service, self.consumer.name)
                    self.metrics.consumer_pending.labels(*labels).set(info.num_pending or 0)
                    self.metrics.consumer_ack_pending.labels(*labels).set(info.num_ack_pending or 0)
            if self._started.is_set():
                await asyncio.sleep(5.0)
            else:  # the consumer's gauges as soon as it runs, not up to 5 s later
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._started.wait(), 5.0)

    async def prune_inbox(self) -> bool:
        """Delete a batch of inbox rows older than the retention; True when there may be more."""
        async with self.db.transaction() as tx:
            deleted = await tx.execute(PRUNE_INBOX, {"before": time.time() - self.inbox_retention,
                                                     "limit": PRUNE_BATCH})
        return deleted >= PRUNE_BATCH

    async def outbox_stats(self) -> dict[str, Any]:
        async with self.db.transaction(readonly=True) as tx:
            row = await tx.fetch_one(COUNT_PENDING)
            dead = await tx.fetch_value(COUNT_DEAD)
        pending = int(row["n"]) if row else 0
        oldest = row["oldest"] if row else None
        return {"pending": pending,
                "oldest_pending_age_s": round(time.time() - oldest, 3) if oldest else 0.0,
                "dead_letters": int(dead or 0)}

    async def consumer_stats(self) -> dict[str, Any]:
        if self.consumer is None or not self._started.is_set():
            return {}
        info = await self.broker.jetstream().consumer_info("SOUK", self.consumer.name)
        return {self.consumer.name: {"num_pending": info.num_pending,
                                     "num_ack_pending": info.num_ack_pending,
                                     "num_redelivered": info.num_redelivered,
                                     "subjects": self.consumer.subjects}}

    async def close(self) -> None:
        await cancel_and_wait(*self._tasks)
        if self.consumer is not None:
            await self.consumer.close()
        await self.relay.close()
