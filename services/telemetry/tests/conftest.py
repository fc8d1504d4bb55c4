"""Spans and OTLP/JSON exports for every telemetry test, with readable defaults (imported:
``from ...conftest import make_span``)."""

from __future__ import annotations

from typing import Any

import orjson

from telemetry.domain.holding import SpanFragment
from telemetry.domain.spans import Span

T0 = 1_700_000_000_000_000_000  # a start time in Unix ns
MS = 1_000_000


def trace_id(n: int) -> str:
    return f"{n:032x}"


def span_id(n: int) -> str:
    return f"{n:016x}"


def make_span(trace: int = 1, span: int = 1, parent: int | None = None, *,
              service: str = "gateway", name: str = "GET /x", start_ms: float = 0,
              duration_ms: float = 10, status: str = "unset", kind: str = "internal",
              **attributes: Any) -> Span:
    start = T0 + int(start_ms * MS)
    return Span(trace_id=trace_id(trace), span_id=span_id(span),
                parent_span_id=None if parent is None else span_id(parent), service=service,
                instance=f"{service}-1", name=name, kind=kind, start_ns=start,
                end_ns=start + int(duration_ms * MS), status=status,
                attributes={k.replace("__", "."): v for k, v in attributes.items()})


def fragment(*spans: Span) -> SpanFragment:
    return SpanFragment.of(spans)


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def json_span(trace: int, span: int, parent: int | None = None, *, name: str = "GET /x",
              start_ms: float = 0, duration_ms: float = 10, error: bool = False, kind: int = 1,
              **attributes: Any) -> dict[str, Any]:
    """One span in OTLP/JSON, as the chassis' recorder sends it."""
    start = T0 + int(start_ms * MS)
    doc: dict[str, Any] = {
        "traceId": trace_id(trace), "spanId": span_id(span),
        "parentSpanId": "" if parent is None else span_id(parent), "name": name, "kind": kind,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + int(duration_ms * MS)),
        "attributes": [{"key": k.replace("__", "."), "value": _any_value(v)}
                       for k, v in attributes.items()]}
    if error:
        doc["status"] = {"code": 2, "message": "failed"}
    return doc


def json_export(service: str, *spans: dict[str, Any]) -> bytes:
    """An OTLP/JSON ExportTraceServiceRequest of one service's spans."""
    return orjson.dumps({"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": service}},
            {"key": "service.instance.id", "value": {"stringValue": f"{service}-1"}}]},
        "scopeSpans": [{"scope": {"name": "souk"}, "spans": list(spans)}]}]})
