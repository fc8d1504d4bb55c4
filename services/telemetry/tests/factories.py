"""Spans for tests, with readable defaults."""

from __future__ import annotations

from typing import Any

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
