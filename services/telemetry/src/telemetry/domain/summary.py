"""The per-trace summary, built from whichever spans have arrived so far.

Spans of one trace come in many batches, from many services, in any order, so a summary is a
value that merges: ``merge(a, b) == merge(b, a)`` and merging in any grouping gives the same result.
The root is the span without a parent; until it has arrived, the earliest span stands in for it
(``has_root`` False).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telemetry.domain.spans import Span

__all__ = ["TraceSummary", "merge", "summarize", "summarize_batch"]


@dataclass(frozen=True, slots=True)
class TraceSummary:
    trace_id: str
    root_service: str
    root_name: str
    has_root: bool
    start_ns: int
    end_ns: int
    span_count: int
    services: tuple[str, ...]  # sorted, distinct
    error: bool
    order_id: str | None

    @property
    def duration_ms(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e6


def _root_key(s: TraceSummary) -> tuple[bool, int, str, str]:
    # a real root beats a stand-in; among stand-ins the earliest; names only break ties
    return (not s.has_root, 0 if s.has_root else s.start_ns, s.root_service, s.root_name)


def _span_root_key(span: Span) -> tuple[bool, int, str, str]:
    is_root = span.parent_span_id is None
    return (not is_root, 0 if is_root else span.start_ns, span.service, span.name)


def summarize(trace_id: str, spans: Sequence[Span]) -> TraceSummary:
    """The summary of some spans (at least one) of one trace."""
    root = min(spans, key=_span_root_key)
    order_ids = [o for s in spans if (o := s.order_id) is not None]
    return TraceSummary(
        trace_id=trace_id, root_service=root.service, root_name=root.name,
        has_root=root.parent_span_id is None,
        start_ns=min(s.start_ns for s in spans), end_ns=max(s.end_ns for s in spans),
        span_count=len(spans), services=tuple(sorted({s.service for s in spans})),
        error=any(s.status == "error" for s in spans),
        order_id=min(order_ids) if order_ids else None)


def summarize_batch(spans: Iterable[Span]) -> dict[str, TraceSummary]:
    """One summary per trace present in ``spans``."""
    by_trace: dict[str, list[Span]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    return {trace_id: summarize(trace_id, group) for trace_id, group in by_trace.items()}


def merge(a: TraceSummary, b: TraceSummary) -> TraceSummary:
    """The summary of the spans of ``a`` and of ``b`` (disjoint sets of one trace)."""
    if a.trace_id != b.trace_id:
        raise ValueError("cannot merge the summaries of two traces")
    root = min(a, b, key=_root_key)
    order_ids = [o for o in (a.order_id, b.order_id) if o is not None]
    return TraceSummary(
        trace_id=a.trace_id, root_service=root.root_service, root_name=root.root_name,
        has_root=root.has_root, start_ns=min(a.start_ns, b.start_ns),
        end_ns=max(a.end_ns, b.end_ns), span_count=a.span_count + b.span_count,
        services=tuple(sorted({*a.services, *b.services})), error=a.error or b.error,
        order_id=min(order_ids) if order_ids else None)
