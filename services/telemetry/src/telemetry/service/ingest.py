"""Ingest one export request: its spans and the summaries of their traces, in one transaction."""

from __future__ import annotations

from collections.abc import Iterable

from telemetry.domain.spans import Span
from telemetry.domain.summary import merge, summarize_batch
from telemetry.service.ports import UnitOfWork

__all__ = ["ingest"]


async def ingest(uow: UnitOfWork, spans: Iterable[Span]) -> int:
    """Store the spans not stored yet (an exporter may send a batch again after a lost answer) and
    fold them into their traces' summaries; the number of new spans."""
    unique = list({(s.trace_id, s.span_id): s for s in spans}.values())
    if not unique:
        return 0
    async with uow.transaction() as repo:
        known = await repo.known_spans([(s.trace_id, s.span_id) for s in unique])
        fresh = [s for s in unique if (s.trace_id, s.span_id) not in known] if known else unique
        if not fresh:
            return 0
        partial = summarize_batch(fresh)
        stored = await repo.summaries(partial.keys())
        merged = [merge(stored[trace_id], summary) if trace_id in stored else summary
                  for trace_id, summary in sorted(partial.items())]
        await repo.add_spans(fresh)
        await repo.save_summaries(merged)
        await repo.note_services({s.service for s in fresh})
    return len(fresh)
