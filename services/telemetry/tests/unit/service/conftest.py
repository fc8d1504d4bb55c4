"""In-memory stand-ins for what the use cases need (no sockets, no files): a trace store with the
repository's semantics, metrics that count, a clock that moves when told."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from contextlib import asynccontextmanager

import pytest

from telemetry.domain.spans import Span
from telemetry.domain.summary import TraceSummary
from telemetry.service.ports import TraceQuery


class MemoryRepository:
    def __init__(self) -> None:
        self.spans: dict[tuple[str, str], Span] = {}
        self.traces: dict[str, TraceSummary] = {}
        self.service_names: set[str] = set()

    async def known_spans(self, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        return {k for k in keys if k in self.spans}

    async def summaries(self, trace_ids: Collection[str]) -> dict[str, TraceSummary]:
        return {t: self.traces[t] for t in trace_ids if t in self.traces}

    async def add_spans(self, spans: Sequence[Span]) -> None:
        for s in spans:
            self.spans.setdefault((s.trace_id, s.span_id), s)

    async def save_summaries(self, summaries: Sequence[TraceSummary]) -> None:
        self.traces.update((s.trace_id, s) for s in summaries)

    async def note_services(self, services: Collection[str]) -> None:
        self.service_names.update(services)

    async def search(self, query: TraceQuery) -> list[TraceSummary]:
        found = sorted(self.traces.values(), key=lambda s: (s.start_ns, s.trace_id), reverse=True)
        if query.before is not None:
            found = [s for s in found if (s.start_ns, s.trace_id) < query.before]
        return found[:query.limit]

    async def spans_of(self, trace_id: str) -> list[Span]:
        return [s for (t, _), s in self.spans.items() if t == trace_id]

    async def services(self) -> list[str]:
        return sorted(self.service_names)

    async def count_traces(self) -> int:
        return len(self.traces)

    async def oldest_traces(self, limit: int, started_before_ns: int | None = None) -> list[str]:
        found = sorted(self.traces.values(), key=lambda s: (s.start_ns, s.trace_id))
        if started_before_ns is not None:
            found = [s for s in found if s.start_ns < started_before_ns]
        return [s.trace_id for s in found[:limit]]

    async def delete_traces(self, trace_ids: Iterable[str]) -> None:
        for t in set(trace_ids):
            self.traces.pop(t, None)
            for key in [k for k in self.spans if k[0] == t]:
                del self.spans[key]


class MemoryUnitOfWork:
    """A ``TraceUnitOfWork`` over one MemoryRepository; counts transactions."""

    def __init__(self) -> None:
        self.repo = MemoryRepository()
        self.transactions = 0

    @asynccontextmanager
    async def __call__(self, *, readonly: bool = False) -> AsyncIterator[MemoryRepository]:
        self.transactions += 1
        yield self.repo


class FailingUnitOfWork(MemoryUnitOfWork):
    """Every transaction fails, as a database that went away."""

    @asynccontextmanager
    async def __call__(self, *, readonly: bool = False) -> AsyncIterator[MemoryRepository]:
        self.transactions += 1
        raise ConnectionError("database is away")
        yield self.repo  # pragma: no cover - makes this a generator


class RecordingMetrics:
    """``TailMetrics`` that sums what it is told."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.spans_held: Callable[[], int] = lambda: 0

    def _add(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def received(self, spans: int) -> None:
        self._add("received", spans)

    def rejected(self, spans: int) -> None:
        self._add("rejected", spans)

    def kept(self, reason: str, traces: int) -> None:
        self._add(f"kept:{reason}", traces)

    def dropped(self, reason: str, traces: int) -> None:
        self._add(f"dropped:{reason}", traces)

    def late(self, outcome: str, spans: int) -> None:
        self._add(f"late:{outcome}", spans)

    def lost(self, traces: int) -> None:
        self._add("lost", traces)

    def watch_held(self, spans_held: Callable[[], int]) -> None:
        self.spans_held = spans_held


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def uow() -> MemoryUnitOfWork:
    return MemoryUnitOfWork()
