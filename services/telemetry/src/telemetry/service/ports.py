"""What the use cases need from storage (``telemetry.adapters.sql`` implements it in plain SQL) and
from metrics (``telemetry.adapters.metrics``, Prometheus)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from chassis.db import UnitOfWork
from telemetry.domain.spans import Span
from telemetry.domain.summary import TraceSummary

__all__ = ["TailMetrics", "TraceQuery", "TraceRepository", "TraceUnitOfWork"]


@dataclass(frozen=True, slots=True)
class TraceQuery:
    """Filters of a trace search; traces come newest first, strictly before ``before``."""

    limit: int
    service: str | None = None  # a service that has at least one span in the trace
    operation: str | None = None  # a span name (of ``service`` when given)
    error: bool | None = None  # True: failed traces only; False: traces without an error span
    min_duration_ms: float | None = None
    order_id: str | None = None
    before: tuple[int, str] | None = None  # (start_ns, trace_id) of the last trace seen


class TraceRepository(Protocol):
    """Spans and trace summaries, seen from inside one transaction."""

    async def known_spans(self, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (trace_id, span_id) pairs are stored already."""
        ...

    async def summaries(self, trace_ids: Collection[str]) -> dict[str, TraceSummary]: ...

    async def add_spans(self, spans: Sequence[Span]) -> None: ...

    async def save_summaries(self, summaries: Sequence[TraceSummary]) -> None:
        """Insert or overwrite these summaries."""
        ...

    async def note_services(self, services: Collection[str]) -> None: ...

    async def search(self, query: TraceQuery) -> list[TraceSummary]: ...

    async def spans_of(self, trace_id: str) -> list[Span]: ...

    async def services(self) -> list[str]: ...

    async def count_traces(self) -> int: ...

    async def oldest_traces(self, limit: int, started_before_ns: int | None = None) -> list[str]:
        """Up to ``limit`` trace ids, oldest start first (only those started before the bound)."""
        ...

    async def delete_traces(self, trace_ids: Iterable[str]) -> None:
        """Delete the traces and every span of them."""
        ...


# ``async with uow() as repo:`` — everything done through ``repo`` commits together or not at all;
# write transactions of one process run one at a time (see ``telemetry.adapters.sql``)
TraceUnitOfWork = UnitOfWork[TraceRepository]


class TailMetrics(Protocol):
    """What the tail sampler counts. Called once per request or per decision round, never per
    span, so an implementation may take a lock or a label lookup."""

    def received(self, spans: int) -> None:
        """Spans accepted from export requests (held, or late)."""
        ...

    def rejected(self, spans: int) -> None:
        """Spans refused: a malformed id or time in the export, or undecodable when kept."""
        ...

    def kept(self, reason: str, traces: int) -> None:
        """Traces kept, by reason (``telemetry.domain.keep.REASONS``)."""
        ...

    def dropped(self, reason: str, traces: int) -> None:
        """Traces dropped: ``rules`` (no rule keeps them), ``rate`` (over the kept-per-second cap)
        or ``backlog`` (kept traces waiting for the store already fill ``max_held_spans``)."""
        ...

    def late(self, outcome: str, spans: int) -> None:
        """Spans arriving after their trace's decision: ``stored`` or ``dropped``."""
        ...

    def lost(self, traces: int) -> None:
        """Kept traces that could not be written (the store failed)."""
        ...

    def watch_held(self, spans_held: Callable[[], int]) -> None:
        """Report ``spans_held()`` (spans held or waiting to be stored) whenever read."""
        ...
