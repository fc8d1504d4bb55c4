"""One span as stored, and the identifiers that name spans and traces."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from telemetry.domain.errors import InvalidTraceId

__all__ = ["KINDS", "ORDER_ID_ATTRIBUTE", "STATUSES", "Span", "normalize_trace_id"]

# index = the OTLP enum value
KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUSES = ("unset", "ok", "error")
ORDER_ID_ATTRIBUTE = "souk.order_id"
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_ZERO_TRACE = "0" * 32


@dataclass(frozen=True, slots=True)
class Span:
    """A finished span. Ids are lower-case hex (32 digits for traces, 16 for spans)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None  # None for a root span
    service: str
    instance: str
    name: str
    kind: str  # one of KINDS
    start_ns: int
    end_ns: int
    status: str = "unset"  # one of STATUSES
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e6

    @property
    def order_id(self) -> str | None:
        value = self.attributes.get(ORDER_ID_ATTRIBUTE)
        return str(value) if value not in (None, "") else None


def normalize_trace_id(text: str) -> str:
    """The trace id in lower case; InvalidTraceId unless it is 32 hex digits and not all zeros."""
    trace_id = text.strip().lower()
    if not _TRACE_ID.match(trace_id) or trace_id == _ZERO_TRACE:
        raise InvalidTraceId(f"a trace id is 32 hexadecimal digits, not {text[:40]!r}")
    return trace_id
