"""The outbox relay: publishes committed outbox rows to JetStream and marks them published.

Rows reach it two ways: handed over in memory right after their transaction commits (the fast
path), and from a slow catch-up poll of unpublished rows (what a crash left behind, or what
another instance of the service wrote). Every publish carries ``Nats-Msg-Id``, so a row published
twice (a crash between publish and mark) is dropped by JetStream within its duplicate window, and
by the consumers' inboxes after that. Failures are retried forever with capped backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

import orjson

from chassis.db import Database
from chassis.faults import FaultPoints
from chassis.logging import get_logger
from chassis.messaging.envelope import Outgoing
from chassis.messaging.metrics import MessagingMetrics

if TYPE_CHECKING:
    from chassis.broker import Broker

__all__ = ["Relay"]

log = get_logger(__name__)

MARK_PUBLISHED = "UPDATE outbox SET published_at = :at WHERE msg_id = :msg_id"
PENDING = ("SELECT msg_id, subject, headers, payload, created_at FROM outbox "
           "WHERE published_at IS NULL AND created_at < :before ORDER BY seq LIMIT :limit")
PRUNE = "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < :before"


class Relay:
    """One per process. ``hand_over`` after commit; ``run`` publishes until closed."""

    def __init__(self, db: Database, broker: Broker, metrics: MessagingMetrics, faults: FaultPoints,
                 *, batch: int = 500, poll_interval: float = 1.0, grace: float = 3.0,
                 keep_published: float = 600.0, publish_timeout: float = 5.0) -> None:
        self._db = db
        self._broker = broker
        self._metrics = metrics
        self._faults = faults
        self._batch = batch
        self._poll_interval = poll_interval
        self._grace = grace  # rows younger than this belong to the fast path
        self._keep_published = keep_published
        self._publish_timeout = publish_timeout
        self._queue: deque[Outgoing] = deque()
        self._queued: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_poll = 0.0
        self._last_prune = 0.0

    def hand_over(self, rows: Iterable[Outgoing]) -> None:
        """Committed rows to publish now."""
        for row in rows:
            if row.msg_id not in self._queued:
                self._queued.add(row.msg_id)
                self._queue.append(row)
        self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.05
        while True:
            try:
                await self._step()
                delay = 0.05
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS or the database away: keep everything, try again
                log.warning("relay publish failed; retrying", error=str(exc) or type(exc).__name__,
                            retry_in=round(delay, 2))
                self._metrics.publish_failures.inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _step(self) -> None:
        now = time.monotonic()
        if not self._queue:
            timeout = max(0.0, self._poll_interval - (now - self._last_poll))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
        if time.monotonic() - self._last_poll >= self._poll_interval:
            self._last_poll = time.monotonic()
            await self._catch_up()
        while self._queue:
            await self._broker_ready()
            batch = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
            try:
                published = await self._publish(batch)
            except BaseException:
                self._queue.extendleft(reversed(batch))
                raise
            self._faults.crash_point("relay.after-publish")
            await self._mark(published)
            for row in published:
                self._queued.discard(row.msg_id)
            failed = [row for row in batch if row.msg_id in self._queued]
            if failed:
                self._queue.extendleft(reversed(failed))
                raise ConnectionError(f"{len(failed)} publishes not acknowledged")

    async def _broker_ready(self) -> None:
        if not self._broker.is_connected:
            await self._broker.wait_connected(timeout=3600)

    async def _publish(self, batch: list[Outgoing]) -> list[Outgoing]:
        js = self._broker.jetstream()
        futures = [await js.publish_async(row.subject, row.payload, headers=row.headers)
                   for row in batch]
        done, pending = await asyncio.wait(futures, timeout=self._publish_timeout)
        for future in pending:
            future.cancel()
        published = []
        now = time.time()
        for row, future in zip(batch, futures, strict=True):
            if future in done and not future.cancelled() and future.exception() is None:
                published.append(row)
                self._metrics.outbox_lag.observe(max(0.0, now - row.created_at))
        self._metrics.published.inc(len(published))
        return published

    async def _mark(self, rows: list[Outgoing]) -> None:
        if not rows:
            return
        at = time.time()
        async with self._db.transaction() as tx:
            await tx.execute_many(MARK_PUBLISHED, [{"at": at, "msg_id": r.msg_id} for r in rows])

    async def _catch_up(self) -> None:
        before = time.time() - self._grace
        async with self._db.transaction(readonly=True) as tx:
            rows = await tx.fetch_all(PENDING, {"before": before, "limit": self._batch})
        found = [Outgoing(msg_id=r["msg_id"], subject=r["subject"],
                          headers=orjson.loads(r["headers"]), payload=r["payload"].encode(),
                          created_at=r["created_at"])
                 for r in rows if r["msg_id"] not in self._queued]
        if found:
            log.info("relay catching up on unpublished outbox rows", rows=len(found))
            self.hand_over(found)
        if time.monotonic() - self._last_prune > 30:
            self._last_prune = time.monotonic()
            async with self._db.transaction() as tx:
                await tx.execute(PRUNE, {"before": time.time() - self._keep_published})
