"""An in-memory trace store with the repository's semantics, for the use-case tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import asynccontextmanager

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
    def __init__(self) -> None:
        self.repo = MemoryRepository()
        self.transactions = 0

    @asynccontextmanager
    async def transaction(self, *, readonly: bool = False) -> AsyncIterator[MemoryRepository]:
        self.transactions += 1
        yield self.repo
