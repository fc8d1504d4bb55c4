"""What the use cases need from storage; ``telemetry.adapters.sql`` implements it in plain SQL."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from telemetry.domain.spans import Span
from telemetry.domain.summary import TraceSummary

__all__ = ["TraceQuery", "TraceRepository", "UnitOfWork"]


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


class UnitOfWork(Protocol):
    """Opens transactions: everything done through one repository commits together or not at all.
    Write transactions of one process run one at a time."""

    def transaction(
            self, *, readonly: bool = False) -> AbstractAsyncContextManager[TraceRepository]: ...
