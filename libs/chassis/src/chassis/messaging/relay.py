"""The outbox relay: publishes committed outbox rows to JetStream and deletes them once acknowledged.

Rows reach it two ways: handed over in memory right after their transaction commits (the fast
path), and from a slow catch-up poll of unpublished rows (what a crash left behind, or what
another instance of the service wrote). Every publish carries ``Nats-Msg-Id``, so a row published
twice (a crash between publish and delete) is dropped by JetStream within its duplicate window, and
by the consumers' inboxes after that.

Publishing is pipelined: a row goes out as soon as it is handed over, without waiting for the
acknowledgements of the rows before it (waiting for each round's acknowledgements put 10-20 ms
between a commit and its publish under load, on every step of a saga). Acknowledged rows are
deleted in one transaction per ``delete_every`` seconds. A row that is refused or not
acknowledged within ``publish_timeout`` goes out again, after a backoff that grows once per
round of retries (not per refused row: a window of refusals at once would otherwise jump straight
to the cap) up to ``MAX_RETRY_DELAY``. When a broker cluster elects a new leader for the stream
(seconds, docs/decisions.md 64), publishing resumes within that cap of the election.

Memory is bounded: the relay holds at most ``max_queued`` rows (queued, in flight or awaiting
deletion). Rows handed over beyond that (a broker outage under load) are left where they already
are, committed in the outbox table, and the catch-up poll takes them once there is room again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from chassis.db import Database
from chassis.faults import FaultPoints
from chassis.logging import get_logger
from chassis.messaging.envelope import Outgoing
from chassis.messaging.metrics import MessagingMetrics
from chassis.messaging.tx import STORED_AS_BASE64
from chassis.tasks import cancel_and_wait

if TYPE_CHECKING:
    from chassis.broker import Broker

__all__ = ["Relay"]

log = get_logger(__name__)

# a published row is deleted: the outbox holds only what is still to go out
DELETE_PUBLISHED = "DELETE FROM outbox WHERE msg_id = :msg_id"
# PostgreSQL: one statement the server runs once, not once per row
DELETE_PUBLISHED_ROWS = "DELETE FROM outbox WHERE msg_id = ANY(CAST(:msg_ids AS text[]))"
# a second: a retry round costs only a window of refused publishes, and a longer wait would
# outlast a cluster's leader election (or a restarted broker) by as much
MAX_RETRY_DELAY = 1.0
PENDING = ("SELECT msg_id, subject, headers, payload, created_at FROM outbox "
           "WHERE created_at < :before ORDER BY seq LIMIT :limit")


class Relay:
    """One per process. ``hand_over`` after commit; ``start`` publishes until ``close``."""

    def __init__(self, db: Database, broker: Broker, metrics: MessagingMetrics, faults: FaultPoints,
                 *, batch: int = 500, poll_interval: float = 1.0, grace: float = 3.0,
                 publish_timeout: float = 5.0, delete_every: float = 0.2,
                 window: int = 1000, max_queued: int = 10_000) -> None:
        self._db = db
        self._broker = broker
        self._metrics = metrics
        self._faults = faults
        self._batch = batch
        self._poll_interval = poll_interval
        self._grace = grace  # rows younger than this belong to the fast path
        self._publish_timeout = publish_timeout
        self._window = window  # publishes awaiting their acknowledgement, at most
        self._queue: deque[Outgoing] = deque()
        self._queued: set[str] = set()  # queued, in flight or awaiting deletion
        self._max_queued = max_queued
        self._overflowed = False  # rows were left to the catch-up poll since it last ran
        # set by the owner once the streams exist: rows published before would be refused and
        # come back out of order
        self.streams_ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_poll = 0.0
        self._started_at = 0.0
        # JetStream's acknowledgements arrive on one subscription (``<inbox>.<token>``): plain
        # publishes with a reply subject cost half of the client's publish_async, which makes a
        # future, a timer and a parsed PubAck per message
        self._acks: Any = None
        self._acks_nc: Any = None
        self._inbox = ""
        self._token = 0
        self._in_flight: dict[str, tuple[Outgoing, float]] = {}  # token -> (row, sent at)
        self._retry_at = 0.0
        self._delay = 0.05
        # acknowledged rows are deleted in one transaction per ``delete_every`` seconds: under
        # load a transaction per acknowledgement would be one per few messages. A crash before
        # the delete publishes them again; Nats-Msg-Id and the inboxes drop the repeats.
        self._delete_every = delete_every
        self._published: list[Outgoing] = []
        self._published_since = 0.0

    def hand_over(self, rows: Iterable[Outgoing]) -> None:
        """Committed rows to publish now; past ``max_queued`` they wait for the catch-up poll."""
        queued, left = self._queued, 0
        for row in rows:
            if row.msg_id in queued:
                continue
            if len(queued) >= self._max_queued:
                left += 1
                continue
            queued.add(row.msg_id)
            self._queue.append(row)
        if left:
            if not self._overflowed:
                log.warning("relay holds its maximum of rows; the rest wait in the outbox table",
                            max_queued=self._max_queued)
            self._overflowed = True
            self._metrics.relay_overflow.inc(left)
        self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._started_at = time.time()
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        with contextlib.suppress(Exception):  # best effort: a later catch-up republishes them
            await self._delete_published()
        if self._acks is not None:
            with contextlib.suppress(Exception):
                await self._acks.unsubscribe()

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS or the database away: keep everything, try again
                self._failed(f"relay step failed: {str(exc) or type(exc).__name__}")
                await asyncio.sleep(max(0.0, self._retry_at - time.monotonic()))

    def _failed(self, why: str) -> None:
        self._metrics.publish_failures.inc()
        now = time.monotonic()
        if now < self._retry_at:  # this round's retry is set already: one backoff step a round
            return
        log.warning("relay publish failed; retrying", error=why, retry_in=round(self._delay, 2))
        self._retry_at = now + self._delay
        self._delay = min(self._delay * 2, MAX_RETRY_DELAY)

    async def _step(self) -> None:
        await self._sleep()
        now = time.monotonic()
        self._expire(now)
        if self._published and (now - self._published_since >= self._delete_every
                                or len(self._published) >= self._batch):
            await self._delete_published()
        if now - self._last_poll >= self._poll_interval or self._room_to_catch_up():
            self._last_poll = now
            await self._catch_up()
        if (self._queue and now >= self._retry_at and len(self._in_flight) < self._window
                and self.streams_ready.is_set()):
            if not self._broker.is_connected:
                await self._broker.wait_connected(timeout=3600)
            await self._publish()

    async def _sleep(self) -> None:
        """Until something is handed over or acknowledged, or the next timed chore is due."""
        now = time.monotonic()
        due = [now if self._room_to_catch_up() else self._last_poll + self._poll_interval]
        if self._published:
            due.append(self._published_since + self._delete_every)
        if self._in_flight:
            due.append(next(iter(self._in_flight.values()))[1] + self._publish_timeout)
        if self._queue:
            ready = len(self._in_flight) < self._window and self.streams_ready.is_set()
            due.append(self._retry_at if ready else now + 0.05)
        timeout = max(0.0, min(due) - now)
        if timeout > 0 and not self._wake.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def _publish(self) -> None:
        """Send what is queued, without waiting for acknowledgements (up to the window)."""
        nc = self._broker.nc
        if self._acks is None or self._acks_nc is not nc:  # once per connection
            self._inbox = nc.new_inbox()
            self._acks = await nc.subscribe(self._inbox + ".*", cb=self._on_ack)
            self._acks_nc = nc
        queue, in_flight, inbox = self._queue, self._in_flight, self._inbox
        now = time.monotonic()
        while queue and len(in_flight) < self._window:
            row = queue.popleft()
            self._token += 1
            token = str(self._token)
            in_flight[token] = (row, now)
            try:
                await nc.publish(row.subject, row.payload, reply=f"{inbox}.{token}",
                                 headers=row.headers)
            except BaseException:
                del in_flight[token]
                queue.appendleft(row)
                raise

    async def _on_ack(self, msg: Any) -> None:
        """JetStream's answer to one publish: a PubAck, an ``{"error": ...}`` or a no-responders
        status (no stream). Only a PubAck counts as stored."""
        sent = self._in_flight.pop(msg.subject.rpartition(".")[2], None)
        if sent is None:
            return  # timed out already: the row went out again
        row = sent[0]
        if msg.data and b'"error"' not in msg.data:
            if not self._published:
                self._published_since = time.monotonic()
            self._published.append(row)
            self._delay = 0.05
            self._metrics.published.inc()
            self._metrics.outbox_lag.observe(max(0.0, time.time() - row.created_at))
        else:
            self._queue.appendleft(row)
            self._failed(f"JetStream refused {row.subject} ({row.msg_id}): "
                         + (msg.data or b"no stream").decode(errors="replace")[:200])
        self._wake.set()

    def _expire(self, now: float) -> None:
        """Rows not acknowledged within the publish timeout go out again (first in line)."""
        in_flight, cutoff = self._in_flight, now - self._publish_timeout
        late = []
        for token, (_, sent_at) in in_flight.items():  # in the order they were sent
            if sent_at > cutoff:
                break
            late.append(token)
        if late:
            rows = [in_flight.pop(token)[0] for token in late]
            self._queue.extendleft(reversed(rows))
            self._failed(f"{len(rows)} publishes not acknowledged in {self._publish_timeout} s")

    async def _delete_published(self) -> None:
        rows, self._published = self._published, []
        if not rows:
            return
        self._faults.crash_point("relay.after-publish")
        try:
            async with self._db.transaction() as tx:
                if tx.dialect == "postgresql":
                    await tx.execute(DELETE_PUBLISHED_ROWS, {"msg_ids": [r.msg_id for r in rows]})
                else:
                    await tx.execute_many(DELETE_PUBLISHED, [{"msg_id": r.msg_id} for r in rows])
        except BaseException:
            self._published = rows + self._published
            raise
        for row in rows:  # queued until deleted, so the catch-up poll never takes them again
            self._queued.discard(row.msg_id)

    def _room_to_catch_up(self) -> bool:
        """Rows were left in the table and a whole batch of them fits again: no need to wait
        for the next poll."""
        return self._overflowed and len(self._queued) + self._batch <= self._max_queued

    async def _catch_up(self) -> None:
        self._overflowed = False  # set again by hand_over if what it finds does not fit
        # rows written before this relay started are nobody's fast path any more (a crashed
        # process's, or another instance's, which Nats-Msg-Id deduplicates): take them at once,
        # so a restart does not leave a saga step waiting out the grace behind its deadline
        before = max(time.time() - self._grace, self._started_at)
        async with self._db.transaction(readonly=True) as tx:
            rows = await tx.fetch_all(PENDING, {"before": before, "limit": self._batch})
        found = [_outgoing(r) for r in rows if r["msg_id"] not in self._queued]
        if found:
            log.info("relay catching up on unpublished outbox rows", rows=len(found))
            self.hand_over(found)


def _outgoing(row: dict[str, Any]) -> Outgoing:
    """An outbox row as it is published (see ``chassis.messaging.tx.stored_row``)."""
    headers: dict[str, str] = orjson.loads(row["headers"])
    if headers.pop(STORED_AS_BASE64, None) is None:
        payload = row["payload"].encode()
    else:
        payload = base64.b64decode(row["payload"])
    return Outgoing(msg_id=row["msg_id"], subject=row["subject"], headers=headers, payload=payload,
                    created_at=row["created_at"])
