"""Write kept traces: their spans and one summary each, in one transaction for the whole batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telemetry.domain.spans import Span
from telemetry.domain.summary import TraceSummary, merge, summarize
from telemetry.service.ports import TraceUnitOfWork

__all__ = ["KeptTrace", "store_traces"]


@dataclass(frozen=True, slots=True)
class KeptTrace:
    """The spans of a trace the keep rules kept (or late spans of one kept before)."""

    trace_id: str
    spans: list[Span]


async def store_traces(uow: TraceUnitOfWork, traces: Sequence[KeptTrace]) -> int:
    """Store ``traces`` in one transaction; the number of spans written.

    The summary is computed once here, from every span the decision saw. A trace usually has
    nothing stored yet; when it has (late spans of a kept trace, a trace whose decision was
    forgotten, a store restarted meanwhile) the spans already stored are skipped and the summaries
    merge — that costs two more queries, only for those traces.
    """
    by_trace: dict[str, dict[str, Span]] = {}
    for trace in traces:
        # an exporter resends a batch whose answer it lost: one span id, one span
        by_trace.setdefault(trace.trace_id, {}).update((s.span_id, s) for s in trace.spans)
    if not any(by_trace.values()):
        return 0
    async with uow() as repo:
        stored = await repo.summaries(list(by_trace))
        known: set[tuple[str, str]] = set()
        if stored:
            known = await repo.known_spans([(trace_id, span_id) for trace_id in stored
                                            for span_id in by_trace[trace_id]])
        fresh: list[Span] = []
        summaries: list[TraceSummary] = []
        for trace_id, spans in sorted(by_trace.items()):
            new = [s for s in spans.values() if (trace_id, s.span_id) not in known]
            if not new:
                continue
            summary = summarize(trace_id, new)
            previous = stored.get(trace_id)
            summaries.append(summary if previous is None else merge(previous, summary))
            fresh += new
        if fresh:
            await repo.add_spans(fresh)
            await repo.save_summaries(summaries)
            await repo.note_services({s.service for s in fresh})
    return len(fresh)
