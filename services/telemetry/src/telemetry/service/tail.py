"""Tail sampling: hold every received span per trace, decide once per trace, store the kept ones.

``accept`` runs in the export request and only holds (no I/O, no per-span objects beyond what the
decoder built); when memory runs short it decides the traces that arrived first on the spot.
``flush``, run a few times per settle time by the app's background work, takes the traces that are
due, applies the keep rules and a kept-per-second cap (errors first), remembers each decision, and
writes the kept traces in transactions of whole traces. Spans of a trace decided already follow
its decision: kept → held again and added to the stored trace when they settle; dropped →
dropped. Closing decides and stores everything still held.

Everything runs on the event loop, so the buffer needs no lock: ``accept`` and the decisions are
synchronous, and a decision is recorded before the store is awaited. Only rounds are serialised,
so that closing waits for the round in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import KW_ONLY, InitVar, dataclass, field

from chassis.logging import get_logger
from telemetry.domain.holding import Decisions, Fragment, HeldTrace, TraceBuffer
from telemetry.domain.keep import REASONS, KeepBudget, KeepRules
from telemetry.domain.spans import Span
from telemetry.service.ports import TailMetrics, TraceUnitOfWork
from telemetry.service.store import KeptTrace, store_traces

__all__ = ["TailSampler"]

log = get_logger(__name__)
_PRIORITY = {reason: rank for rank, reason in enumerate(REASONS)}


@dataclass(slots=True, eq=False)
class TailSampler:
    """The trace store's intake: see the module docstring."""

    uow: TraceUnitOfWork
    _: KW_ONLY
    rules: KeepRules
    buffer: TraceBuffer
    decisions: Decisions
    metrics: TailMetrics
    max_kept_per_second: InitVar[float] = 0
    store_batch_spans: int = 2000
    clock: Callable[[], float] = time.monotonic
    _budget: KeepBudget = field(init=False)
    _ready: list[HeldTrace] = field(init=False, default_factory=list)  # kept, to be stored
    _ready_spans: int = field(init=False, default=0)
    # one flush at a time; closing waits for the one in flight
    _round: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    _closed: bool = field(init=False, default=False)

    def __post_init__(self, max_kept_per_second: float) -> None:
        self._budget = KeepBudget(max_kept_per_second, self.clock())
        self.metrics.watch_held(self.spans_held)

    def spans_held(self) -> int:
        """Spans held for a decision or waiting to be stored."""
        return self.buffer.spans + self._ready_spans

    def accept(self, fragments: Iterable[Fragment], *, rejected: int = 0) -> None:
        """Hold the fragments of one export request (``rejected``: spans the decoder refused)."""
        now = self.clock()
        decisions, buffer = self.decisions, self.buffer
        received = late_dropped = 0
        for fragment in fragments:
            received += fragment.size
            kept = decisions.get(fragment.trace_id)
            if kept is None:
                buffer.add(fragment, now)
            elif kept:
                buffer.add(fragment, now, late=True)
            else:
                late_dropped += fragment.size
        self.metrics.received(received)
        if rejected:
            self.metrics.rejected(rejected)
        if late_dropped:
            self.metrics.late("dropped", late_dropped)
        if buffer.over_limit:
            # memory is short: decide the oldest traces now; the kept ones wait for the next
            # round's store, and count against the same limit meanwhile (_within_backlog)
            self._decide(buffer.take_oldest(), now)

    async def flush(self) -> None:
        """One round: decide the traces that are due now and store the kept ones (and those
        decided early for lack of memory). Nothing once closed."""
        async with self._round:
            if self._closed:
                return
            now = self.clock()
            self._decide(self.buffer.take_due(now), now)
            await self._store_ready()

    async def close(self) -> None:
        """After the round in flight, decide and store everything held; later rounds do
        nothing."""
        async with self._round:
            self._closed = True
            # shutting down: keep what the rules keep, without the rate cap
            self._decide(self.buffer.take_all(), self.clock(), capped=False)
            await self._store_ready()

    def _decide(self, traces: list[HeldTrace], now: float, *, capped: bool = True) -> None:
        if not traces:
            return
        wanted: list[tuple[int, str, HeldTrace]] = []
        dropped = 0
        for trace in traces:
            if trace.late:
                self._ready_trace(trace)
                continue
            reason = self.rules.reason(trace)
            if reason is None:
                self.decisions.record(trace.trace_id, False)
                dropped += 1
            else:
                wanted.append((_PRIORITY[reason], reason, trace))
        wanted.sort(key=lambda item: item[0])  # stable: errors first, then by arrival
        refused: dict[str, list[HeldTrace]] = {"backlog": [], "rate": []}
        if capped:
            wanted = self._within_backlog(wanted, refused["backlog"])
            granted = self._budget.take(len(wanted), now)
            refused["rate"] = [trace for _, _, trace in wanted[granted:]]
            wanted = wanted[:granted]
        kept: dict[str, int] = {}
        for _, reason, trace in wanted:
            self.decisions.record(trace.trace_id, True)
            kept[reason] = kept.get(reason, 0) + 1
            self._ready_trace(trace)
        for reason, n in kept.items():
            self.metrics.kept(reason, n)
        for reason, traces_refused in refused.items():
            for trace in traces_refused:
                self.decisions.record(trace.trace_id, False)
            if traces_refused:
                self.metrics.dropped(reason, len(traces_refused))
        if dropped:
            self.metrics.dropped("rules", dropped)

    def _within_backlog(self, wanted: list[tuple[int, str, HeldTrace]],
                        refused: list[HeldTrace]) -> list[tuple[int, str, HeldTrace]]:
        # kept traces waiting for the store count against max_held_spans too: if the store falls
        # behind, the lowest priorities are dropped rather than memory growing without bound
        room = self.buffer.max_spans - self._ready_spans
        fits = []
        for item in wanted:
            if item[2].size <= room:
                room -= item[2].size
                fits.append(item)
            else:
                refused.append(item[2])
        return fits

    def _ready_trace(self, trace: HeldTrace) -> None:
        self._ready.append(trace)
        self._ready_spans += trace.size

    async def _store_ready(self) -> None:
        while self._ready:
            batch, size = self._take_batch()
            try:
                await store_traces(self.uow, [KeptTrace(t.trace_id, self._spans_of(t))
                                               for t in batch])
                late = sum(t.size for t in batch if t.late)
                if late:
                    self.metrics.late("stored", late)
            except Exception as exc:  # the database may be away: these traces are lost
                log.warning("storing kept traces failed", traces=len(batch),
                            error=str(exc) or type(exc).__name__)
                self.metrics.lost(len(batch))
            finally:
                self._ready_spans -= size
            await asyncio.sleep(0)  # SQLite runs on the loop: let requests in between batches

    def _take_batch(self) -> tuple[list[HeldTrace], int]:
        # whole traces, about store_batch_spans spans: short write transactions
        ready, end, size = self._ready, 0, 0
        while end < len(ready) and (not end or size + ready[end].size <= self.store_batch_spans):
            size += ready[end].size
            end += 1
        batch = ready[:end]
        del ready[:end]
        return batch, size

    def _spans_of(self, trace: HeldTrace) -> list[Span]:
        spans: list[Span] = []
        for fragment in trace.fragments:
            try:
                spans += fragment.spans()
            except Exception as exc:  # a decoder bug must not cost the other traces of the batch
                log.warning("a held fragment could not be read", trace_id=trace.trace_id,
                            error=repr(exc))
                self.metrics.rejected(fragment.size)
        return spans
