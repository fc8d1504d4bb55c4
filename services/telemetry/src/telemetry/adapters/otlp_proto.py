"""OTLP/protobuf export requests (from external senders) to fragments, and protobuf answers.

Imported only when the first protobuf request arrives (see ``telemetry.adapters.otlp``). Protobuf
is not the platform's hot path, so spans are built at once (upb does the parsing); spans with a
malformed id are rejected one by one and counted, as OTLP's partial success asks.
"""

from __future__ import annotations

import base64
from typing import Any

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from telemetry.adapters.otlp_json import UNKNOWN_SERVICE, DecodedExport
from telemetry.domain.errors import InvalidExport
from telemetry.domain.holding import SpanFragment
from telemetry.domain.spans import KINDS, STATUSES, Span

__all__ = ["decode_protobuf", "encode_protobuf_response"]

_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_MAX_NS = (1 << 63) - 1  # times are stored as BIGINT; protobuf's are unsigned 64-bit


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
    """The fragments of a protobuf ``ExportTraceServiceRequest``."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError) as exc:
        raise InvalidExport(f"not a protobuf ExportTraceServiceRequest: {exc}") from None
    out = DecodedExport()
    for resource_spans in request.resource_spans:
        resource = _pb_attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name") or UNKNOWN_SERVICE)
        instance = str(resource.get("service.instance.id") or "")
        by_trace: dict[str, list[Span]] = {}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                decoded = _span(span, service, instance)
                if isinstance(decoded, str):
                    out.reject(decoded)
                else:
                    by_trace.setdefault(decoded.trace_id, []).append(decoded)
        for spans in by_trace.values():
            out.fragments.append(SpanFragment.of(spans))
            out.spans += len(spans)
    return out


def _span(span: Any, service: str, instance: str) -> Span | str:
    trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
    if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
        return "a span has an invalid trace id"
    if len(span_id) != 8 or span_id == _ZERO_SPAN:
        return "a span has an invalid span id"
    if span.start_time_unix_nano > _MAX_NS or span.end_time_unix_nano > _MAX_NS:
        return "a span has an invalid time"
    status = span.status
    return Span(
        trace_id=trace_id.hex(), span_id=span_id.hex(),
        parent_span_id=parent.hex() if len(parent) == 8 and parent != _ZERO_SPAN else None,
        service=service, instance=instance, name=span.name,
        kind=KINDS[span.kind] if 0 <= span.kind < len(KINDS) else KINDS[0],
        start_ns=span.start_time_unix_nano, end_ns=span.end_time_unix_nano,
        status=STATUSES[status.code] if 0 <= status.code < len(STATUSES) else "unset",
        status_message=status.message,
        attributes=_pb_attributes(span.attributes) if span.attributes else {},
        events=[{"name": e.name, "time_ns": min(e.time_unix_nano, _MAX_NS),
                 "attributes": _pb_attributes(e.attributes)} for e in span.events])


def encode_protobuf_response(rejected: int = 0, reason: str = "") -> bytes:
    """A protobuf ``ExportTraceServiceResponse`` (empty unless spans were rejected)."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=rejected, error_message=reason))
    encoded: bytes = response.SerializeToString()
    return encoded
