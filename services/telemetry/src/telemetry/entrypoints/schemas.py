"""The trace search API's answers, as msgspec Structs (their JSON Schemas are the OpenAPI
document's). The search page is ``chassis.pagination.Page[SummaryOut]``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from telemetry.domain.spans import Span
from telemetry.domain.summary import TraceSummary
from telemetry.domain.tree import SpanNode

__all__ = ["ServiceListOut", "SpanNodeOut", "SpanOut", "SummaryOut", "TraceOut"]

Kind = Literal["server", "client", "producer", "consumer", "internal", "unspecified"]
Status = Literal["unset", "ok", "error"]
UnixNs = Annotated[int, Meta(description="Unix nanoseconds")]


class SummaryOut(msgspec.Struct, frozen=True):
    trace_id: str
    root_service: str
    root_name: str
    has_root: Annotated[bool, Meta(description=(
        "false while the root span has not arrived: root_* then name the earliest span"))]
    start_ns: UnixNs
    end_ns: UnixNs
    duration_ms: float
    span_count: int
    services: list[str]
    error: Annotated[bool, Meta(description="a span failed")]
    order_id: str | None

    @classmethod
    def of(cls, s: TraceSummary) -> SummaryOut:
        return cls(trace_id=s.trace_id, root_service=s.root_service, root_name=s.root_name,
                   has_root=s.has_root, start_ns=s.start_ns, end_ns=s.end_ns,
                   duration_ms=round(s.duration_ms, 3), span_count=s.span_count,
                   services=list(s.services), error=s.error, order_id=s.order_id)


class SpanOut(msgspec.Struct, frozen=True):
    trace_id: str
    span_id: str
    parent_span_id: str | None
    service: str
    instance: str
    name: str
    kind: Kind
    start_ns: UnixNs
    end_ns: UnixNs
    duration_ms: float
    status: Status
    status_message: str
    attributes: dict[str, Any]
    events: list[dict[str, Any]]

    @classmethod
    def of(cls, s: Span) -> SpanOut:
        return cls(**_span_fields(s))


class SpanNodeOut(SpanOut, frozen=True):
    """A span with the spans under it, by start time."""

    children: list[SpanNodeOut]

    @classmethod
    def of_node(cls, node: SpanNode) -> SpanNodeOut:
        return cls(**_span_fields(node.span),
                   children=[cls.of_node(child) for child in node.children])


class TraceOut(msgspec.Struct, frozen=True):
    trace_id: str
    summary: SummaryOut
    spans: Annotated[list[SpanOut], Meta(description="flat, by start time")]
    tree: Annotated[list[SpanNodeOut], Meta(description=(
        "the roots, each with nested children, by start time; a span whose parent never "
        "arrived is a root"))]


class ServiceListOut(msgspec.Struct, frozen=True):
    items: list[str]


def _span_fields(s: Span) -> dict[str, Any]:
    return {"trace_id": s.trace_id, "span_id": s.span_id, "parent_span_id": s.parent_span_id,
            "service": s.service, "instance": s.instance, "name": s.name, "kind": s.kind,
            "start_ns": s.start_ns, "end_ns": s.end_ns, "duration_ms": round(s.duration_ms, 3),
            "status": s.status, "status_message": s.status_message, "attributes": s.attributes,
            "events": s.events}
