"""Reading traces: search, one trace with its tree, the services seen."""

from __future__ import annotations

from dataclasses import dataclass

from telemetry.domain.errors import TraceNotFound
from telemetry.domain.spans import Span, normalize_trace_id
from telemetry.domain.summary import TraceSummary, summarize
from telemetry.domain.tree import SpanNode, build_tree, by_start
from telemetry.service.ports import TraceQuery, TraceUnitOfWork

__all__ = ["MAX_PAGE_SIZE", "TraceDetail", "TracePage", "get_trace", "list_services",
           "search_traces"]

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class TracePage:
    items: list[TraceSummary]
    next: tuple[int, str] | None  # the ``before`` of the next page; None on the last one


@dataclass(frozen=True, slots=True)
class TraceDetail:
    summary: TraceSummary
    spans: list[Span]  # by start time
    tree: list[SpanNode]


async def search_traces(uow: TraceUnitOfWork, query: TraceQuery) -> TracePage:
    async with uow(readonly=True) as repo:
        items = await repo.search(query)
    last = items[-1] if len(items) == query.limit else None
    return TracePage(items, None if last is None else (last.start_ns, last.trace_id))


async def get_trace(uow: TraceUnitOfWork, trace_id: str) -> TraceDetail:
    trace_id = normalize_trace_id(trace_id)
    async with uow(readonly=True) as repo:
        spans = await repo.spans_of(trace_id)
        stored = await repo.summaries([trace_id])
    if not spans:
        raise TraceNotFound(f"no trace {trace_id} (never received, or pruned)")
    summary = stored.get(trace_id) or summarize(trace_id, spans)
    return TraceDetail(summary, by_start(spans), build_tree(spans))


async def list_services(uow: TraceUnitOfWork) -> list[str]:
    async with uow(readonly=True) as repo:
        return await repo.services()
