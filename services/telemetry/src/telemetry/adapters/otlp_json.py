"""OTLP/JSON export requests to held fragments: the path every span of the platform takes.

At ingest each span costs one orjson parse and a few reads: its trace and span ids and its two
times are checked (a span failing that is rejected alone and counted, as OTLP's partial success
asks), its status code read, and its attributes scanned for ``souk.keep`` only when the body
mentions that key at all. The spans of one trace from one resource are then re-encoded together by
orjson into one compact ``bytes`` (~600 bytes a span where the parsed dicts weigh ~3.5 KB, and
invisible to the garbage collector while held). Only the spans of kept traces are ever converted
to ``Span`` — from those bytes, by a conversion that never fails (``telemetry.adapters.otlp_spans``):
a value it cannot read is kept as sent.

OTLP/JSON encodes ids as hex, 64-bit integers as strings (numbers accepted too), enums as numbers
(names accepted too) and keys in lowerCamelCase (the proto field names accepted too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from telemetry.adapters.otlp_spans import attributes, get, hex_id, ns, span_of
from telemetry.domain.errors import InvalidExport
from telemetry.domain.holding import Fragment
from telemetry.domain.keep import KEEP_ATTRIBUTE
from telemetry.domain.spans import Span

__all__ = ["JSON", "UNKNOWN_SERVICE", "DecodedExport", "JsonFragment", "decode_json",
           "encode_json_response"]

JSON = "application/json"
UNKNOWN_SERVICE = "unknown_service"
_KEEP_KEY = KEEP_ATTRIBUTE.encode()
_ZERO_SPAN = "0" * 16
_ERROR_CODES = (2, "STATUS_CODE_ERROR")


@dataclass(slots=True)
class DecodedExport:
    """What one export request holds: fragments per trace, and the spans refused."""

    fragments: list[Fragment] = field(default_factory=list)
    spans: int = 0
    rejected: int = 0
    reason: str = ""

    def reject(self, reason: str) -> None:
        self.rejected += 1
        self.reason = self.reason or reason


@dataclass(slots=True, eq=False)
class JsonFragment(Fragment):
    """Spans of one trace from one resource of one OTLP/JSON request, still encoded."""

    service: str
    instance: str
    raw: bytes  # a JSON list of the sender's span objects, as accepted

    def spans(self) -> list[Span]:
        return [span_of(s, self.trace_id, self.service, self.instance)
                for s in orjson.loads(self.raw)]


class _Group:
    __slots__ = ("end", "error", "keep", "spans", "start", "trace_id")

    def __init__(self, trace_id: str, start: int, end: int, error: bool, keep: bool,
                 span: dict[str, Any]) -> None:
        self.trace_id, self.start, self.end, self.error, self.keep = (
            trace_id, start, end, error, keep)
        self.spans = [span]


def decode_json(body: bytes) -> DecodedExport:
    """The fragments of an OTLP/JSON ``ExportTraceServiceRequest``; InvalidExport when the body
    is not one."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidExport(f"not JSON: {exc}") from None
    if type(request) is not dict:
        raise InvalidExport("an OTLP/JSON export is an object with resourceSpans")
    flagged = _KEEP_KEY in body  # the keep flag is rare (failed checkouts): skip the scan
    out = DecodedExport()
    for resource_spans in _list(request, "resourceSpans", "resource_spans"):
        _require_object(resource_spans, "resourceSpans")
        service, instance = _resource(resource_spans)
        groups: dict[str, _Group] = {}  # by the trace id as sent: validated once per trace
        for scope_spans in _list(resource_spans, "scopeSpans", "scope_spans"):
            _require_object(scope_spans, "scopeSpans")
            for span in _list(scope_spans, "spans", "spans"):
                problem = _hold(span, groups, flagged)
                if problem is not None:
                    out.reject(problem)
        for g in groups.values():
            # orjson's bytes keep their over-allocated buffer (~8 KB for 2 KB of JSON): held for
            # seconds, an exact copy is worth its ~0.2 µs
            raw = memoryview(orjson.dumps(g.spans)).tobytes()
            out.fragments.append(JsonFragment(
                g.trace_id, g.start, g.end, g.error, g.keep, len(g.spans), service, instance, raw))
            out.spans += len(g.spans)
    return out


def _hold(span: Any, groups: dict[str, _Group], flagged: bool) -> str | None:
    """Add ``span`` to its trace's group; the reason it is rejected, if it is."""
    if type(span) is not dict:
        return "a span is not an object"
    # the reads of _get inlined: this runs for every span of the platform
    sent_trace_id = span.get("traceId")
    if sent_trace_id is None:
        sent_trace_id = span.get("trace_id")
    group = groups.get(sent_trace_id) if type(sent_trace_id) is str else None
    trace_id = group.trace_id if group is not None else hex_id(sent_trace_id, 16)
    if trace_id is None:
        return "a span has an invalid trace id (OTLP/JSON ids are hex, 32 digits, not all zero)"
    span_id = span.get("spanId")
    if not _is_span_id(span.get("span_id") if span_id is None else span_id):
        return "a span has an invalid span id (OTLP/JSON ids are hex, 16 digits, not all zero)"
    start = span.get("startTimeUnixNano")
    end = span.get("endTimeUnixNano")
    try:
        start = ns(span.get("start_time_unix_nano") if start is None else start)
        end = ns(span.get("end_time_unix_nano") if end is None else end)
    except (ValueError, TypeError, OverflowError):
        return "a span has an invalid time (Unix nanoseconds, an integer or a decimal string)"
    status = span.get("status")
    error = type(status) is dict and status.get("code") in _ERROR_CODES
    keep = flagged and _has_keep_flag(span)
    if group is None:
        # a str, since _hex_id accepted it
        groups[cast(str, sent_trace_id)] = _Group(trace_id, start, end, error, keep, span)
        return None
    group.spans.append(span)
    if start < group.start:
        group.start = start
    if end > group.end:
        group.end = end
    if error:
        group.error = True
    if keep:
        group.keep = True
    return None


def _has_keep_flag(span: dict[str, Any]) -> bool:
    attributes = span.get("attributes")
    if type(attributes) is not list:
        return False
    for kv in attributes:
        if type(kv) is dict and kv.get("key") == KEEP_ATTRIBUTE:
            value = kv.get("value")
            return type(value) is dict and value.get("boolValue") is True
    return False


def _list(obj: dict[str, Any], camel: str, snake: str) -> list[Any]:
    value = get(obj, camel, snake)
    if value is None:
        return []
    if type(value) is not list:
        raise InvalidExport(f"{camel} must be a list")
    return value


def _require_object(value: Any, name: str) -> None:
    if type(value) is not dict:
        raise InvalidExport(f"each {name} entry must be an object")


def _resource(resource_spans: dict[str, Any]) -> tuple[str, str]:
    resource = resource_spans.get("resource")
    found = attributes(resource.get("attributes")) if type(resource) is dict else {}
    service = found.get("service.name")
    instance = found.get("service.instance.id")
    return (str(service) if service else UNKNOWN_SERVICE), (str(instance) if instance else "")


def _is_span_id(value: Any) -> bool:
    if type(value) is not str or len(value) != 16 or value == _ZERO_SPAN:
        return False
    try:
        return len(bytes.fromhex(value)) == 8
    except ValueError:
        return False


def encode_json_response(rejected: int = 0, reason: str = "") -> bytes:
    """An OTLP/JSON ``ExportTraceServiceResponse`` (empty unless spans were rejected)."""
    if not rejected:
        return b"{}"
    return orjson.dumps({"partialSuccess": {"rejectedSpans": str(rejected),
                                            "errorMessage": reason}})
