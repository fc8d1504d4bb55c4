"""Response documents of the trace search API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from telemetry.domain.spans import Span
from telemetry.domain.summary import TraceSummary
from telemetry.domain.tree import SpanNode

__all__ = ["ServiceListOut", "SpanNodeOut", "SpanOut", "SummaryOut", "TraceOut", "TracePageOut"]


class SummaryOut(BaseModel):
    trace_id: str
    root_service: str
    root_name: str
    has_root: bool  # false while the root span has not arrived (root_* name the earliest span)
    start_ns: int
    end_ns: int
    duration_ms: float
    span_count: int
    services: list[str]
    error: bool
    order_id: str | None

    @classmethod
    def of(cls, s: TraceSummary) -> SummaryOut:
        return cls(trace_id=s.trace_id, root_service=s.root_service, root_name=s.root_name,
                   has_root=s.has_root, start_ns=s.start_ns, end_ns=s.end_ns,
                   duration_ms=round(s.duration_ms, 3), span_count=s.span_count,
                   services=list(s.services), error=s.error, order_id=s.order_id)


class SpanOut(BaseModel):
    trace_id: str
    span_id: str
    parent_span_id: str | None
    service: str
    instance: str
    name: str
    kind: str
    start_ns: int
    end_ns: int
    duration_ms: float
    status: str
    status_message: str
    attributes: dict[str, Any]
    events: list[dict[str, Any]]

    @classmethod
    def fields_of(cls, s: Span) -> dict[str, Any]:
        return {"trace_id": s.trace_id, "span_id": s.span_id, "parent_span_id": s.parent_span_id,
                "service": s.service, "instance": s.instance, "name": s.name, "kind": s.kind,
                "start_ns": s.start_ns, "end_ns": s.end_ns,
                "duration_ms": round(s.duration_ms, 3), "status": s.status,
                "status_message": s.status_message, "attributes": s.attributes,
                "events": s.events}

    @classmethod
    def of(cls, s: Span) -> SpanOut:
        return cls(**cls.fields_of(s))


class SpanNodeOut(SpanOut):
    children: list[SpanNodeOut]

    @classmethod
    def of_node(cls, node: SpanNode) -> SpanNodeOut:
        return cls(**SpanOut.fields_of(node.span),
                   children=[cls.of_node(child) for child in node.children])


class TracePageOut(BaseModel):
    items: list[SummaryOut]
    next: str | None  # pass as ``before`` for the next (older) page


class TraceOut(BaseModel):
    trace_id: str
    summary: SummaryOut
    spans: list[SpanOut]  # flat, by start time
    tree: list[SpanNodeOut]  # roots, each with nested children, by start time


class ServiceListOut(BaseModel):
    items: list[str]
