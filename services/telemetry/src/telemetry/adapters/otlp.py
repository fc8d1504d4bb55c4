"""OTLP/HTTP trace export requests (protobuf or JSON) to spans.

The decoders are on the hot path (every span of the platform passes here), so they walk the
messages once and build the stored values directly. Spans with a malformed id are rejected one by
one and counted, as OTLP's partial success asks; a body that cannot be parsed at all is an
``InvalidExport``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from telemetry.domain.errors import InvalidExport
from telemetry.domain.spans import KINDS, STATUSES, Span

__all__ = ["JSON", "PROTOBUF", "DecodedExport", "decode_json", "decode_protobuf", "encode_response"]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
UNKNOWN_SERVICE = "unknown_service"
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_KIND_NAMES = {f"SPAN_KIND_{k.upper()}": k for k in KINDS}
_STATUS_NAMES = {f"STATUS_CODE_{s.upper()}": s for s in STATUSES}


@dataclass(slots=True)
class DecodedExport:
    spans: list[Span] = field(default_factory=list)
    rejected: int = 0
    reason: str = ""

    def reject(self, reason: str) -> None:
        self.rejected += 1
        self.reason = self.reason or reason


# --- protobuf ---------------------------------------------------------------------------------

def _pb_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


def _pb_attributes(attributes: Any) -> dict[str, Any]:
    return {kv.key: _pb_value(kv.value) for kv in attributes}


def decode_protobuf(body: bytes) -> DecodedExport:
    """Spans of a protobuf ``ExportTraceServiceRequest``."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError) as exc:
        raise InvalidExport(f"not a protobuf ExportTraceServiceRequest: {exc}") from None
    out = DecodedExport()
    append = out.spans.append
    for resource_spans in request.resource_spans:
        resource = _pb_attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name") or UNKNOWN_SERVICE)
        instance = str(resource.get("service.instance.id") or "")
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
                if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
                    out.reject("a span has an invalid trace id")
                    continue
                if len(span_id) != 8 or span_id == _ZERO_SPAN:
                    out.reject("a span has an invalid span id")
                    continue
                status = span.status
                append(Span(
                    trace_id=trace_id.hex(), span_id=span_id.hex(),
                    parent_span_id=parent.hex() if len(parent) == 8 and parent != _ZERO_SPAN
                    else None,
                    service=service, instance=instance, name=span.name,
                    kind=KINDS[span.kind] if 0 <= span.kind < len(KINDS) else KINDS[0],
                    start_ns=span.start_time_unix_nano, end_ns=span.end_time_unix_nano,
                    status=STATUSES[status.code] if 0 <= status.code < len(STATUSES) else "unset",
                    status_message=status.message,
                    attributes=_pb_attributes(span.attributes) if span.attributes else {},
                    events=[{"name": e.name, "time_ns": e.time_unix_nano,
                             "attributes": _pb_attributes(e.attributes)} for e in span.events]))
    return out


# --- JSON (OTLP/JSON: lowerCamelCase keys, hex ids, 64-bit integers as strings) ---------------

def _get(obj: Any, camel: str, snake: str) -> Any:
    if not isinstance(obj, dict):
        return None
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _list(obj: Any, camel: str, snake: str) -> list[Any]:
    value = _get(obj, camel, snake)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidExport(f"{camel} must be a list")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("not an integer")
    return int(value) if isinstance(value, int | str) else int(float(value))


def _json_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    for key, convert in _JSON_VALUES:
        if key in value:
            return convert(value[key])
    return None


def _json_double(value: Any) -> float:
    return float(value)


_JSON_VALUES: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("stringValue", str), ("intValue", _int), ("boolValue", bool), ("doubleValue", _json_double),
    ("arrayValue", lambda v: [_json_value(x) for x in _list(v, "values", "values")]),
    ("kvlistValue", lambda v: _json_attributes(_list(v, "values", "values"))),
    ("bytesValue", str),
)


def _json_attributes(items: list[Any]) -> dict[str, Any]:
    return {str(kv["key"]): _json_value(kv.get("value")) for kv in items
            if isinstance(kv, dict) and "key" in kv}


def _hex_id(value: Any, size: int) -> str | None:
    if not isinstance(value, str) or len(value) != size * 2:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    return None if raw == bytes(size) else raw.hex()


def _enum(value: Any, names: dict[str, str], values: tuple[str, ...]) -> str:
    if isinstance(value, str):
        return names.get(value, values[0])
    if isinstance(value, int) and 0 <= value < len(values):
        return values[value]
    return values[0]


def _json_span(span: Any, service: str, instance: str) -> Span | str:
    if not isinstance(span, dict):
        return "a span is not an object"
    trace_id = _hex_id(_get(span, "traceId", "trace_id"), 16)
    span_id = _hex_id(_get(span, "spanId", "span_id"), 8)
    if trace_id is None:
        return "a span has an invalid trace id (OTLP/JSON ids are hex)"
    if span_id is None:
        return "a span has an invalid span id (OTLP/JSON ids are hex)"
    parent = _get(span, "parentSpanId", "parent_span_id")
    status = _get(span, "status", "status") or {}
    try:
        return Span(
            trace_id=trace_id, span_id=span_id,
            parent_span_id=_hex_id(parent, 8) if parent else None,
            service=service, instance=instance, name=str(span.get("name", "")),
            kind=_enum(span.get("kind"), _KIND_NAMES, KINDS),
            start_ns=_int(_get(span, "startTimeUnixNano", "start_time_unix_nano") or 0),
            end_ns=_int(_get(span, "endTimeUnixNano", "end_time_unix_nano") or 0),
            status=_enum(status.get("code") if isinstance(status, dict) else None,
                         _STATUS_NAMES, STATUSES),
            status_message=str(status.get("message", "")) if isinstance(status, dict) else "",
            attributes=_json_attributes(_list(span, "attributes", "attributes")),
            events=[{"name": str(e.get("name", "")),
                     "time_ns": _int(_get(e, "timeUnixNano", "time_unix_nano") or 0),
                     "attributes": _json_attributes(_list(e, "attributes", "attributes"))}
                    for e in _list(span, "events", "events") if isinstance(e, dict)])
    except (ValueError, TypeError, OverflowError, InvalidExport):
        return "a span has a malformed field"


def decode_json(body: bytes) -> DecodedExport:
    """Spans of an OTLP/JSON ``ExportTraceServiceRequest``."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidExport(f"not JSON: {exc}") from None
    if not isinstance(request, dict):
        raise InvalidExport("an OTLP/JSON export is an object with resourceSpans")
    out = DecodedExport()
    for resource_spans in _list(request, "resourceSpans", "resource_spans"):
        resource = _json_attributes(_list(_get(resource_spans, "resource", "resource"),
                                          "attributes", "attributes"))
        service = str(resource.get("service.name") or UNKNOWN_SERVICE)
        instance = str(resource.get("service.instance.id") or "")
        for scope_spans in _list(resource_spans, "scopeSpans", "scope_spans"):
            for span in _list(scope_spans, "spans", "spans"):
                decoded = _json_span(span, service, instance)
                if isinstance(decoded, str):
                    out.reject(decoded)
                else:
                    out.spans.append(decoded)
    return out


def encode_response(content_type: str, rejected: int = 0, reason: str = "") -> bytes:
    """An ``ExportTraceServiceResponse`` in the request's encoding (empty unless spans were
    rejected)."""
    if content_type == JSON:
        if not rejected:
            return b"{}"
        return orjson.dumps({"partialSuccess": {"rejectedSpans": str(rejected),
                                                "errorMessage": reason}})
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=rejected, error_message=reason))
    encoded: bytes = response.SerializeToString()
    return encoded
