"""Decoding OTLP export requests (protobuf and JSON) into fragments per trace, and the answers."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from telemetry.adapters.otlp import JSON, PROTOBUF, DecodedExport, decode_export, encode_response
from telemetry.domain.errors import InvalidExport
from telemetry.domain.spans import Span

pytestmark = pytest.mark.unit

TRACE = "5b8efff798038103d269b633813fc60c"


def decode_protobuf(body: bytes) -> DecodedExport:
    return decode_export(PROTOBUF, body)


def decode_json(body: bytes) -> DecodedExport:
    return decode_export(JSON, body)


def spans_of(decoded: DecodedExport) -> list[Span]:
    return [s for f in decoded.fragments for s in f.spans()]


def sdk_spans() -> tuple[bytes, list[Any]]:
    """A real SDK trace (server span with a failing client child), encoded as the exporter does."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(
        {"service.name": "orders", "service.instance.id": "orders-2"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    attributes = {"http.request.method": "POST", "http.response.status_code": 201,
                  "souk.order_id": "o-1", "retry": True, "ratio": 0.5, "tags": ["a", "b"]}
    with (tracer.start_as_current_span("POST /v1/orders", kind=SpanKind.SERVER,
                                       attributes=attributes),
          tracer.start_as_current_span("reserve", kind=SpanKind.CLIENT) as child):
        child.add_event("retrying", {"attempt": 2})
        child.set_status(Status(StatusCode.ERROR, "inventory down"))
    provider.shutdown()
    finished = memory.get_finished_spans()
    return encode_spans(finished).SerializeToString(), list(finished)


def test_protobuf_export_becomes_span_rows_with_hex_ids_service_and_attributes() -> None:
    body, finished = sdk_spans()

    decoded = decode_protobuf(body)

    assert (decoded.rejected, decoded.spans, len(decoded.fragments)) == (0, 2, 1)
    [fragment] = decoded.fragments
    assert (fragment.error, fragment.keep, fragment.size) == (True, False, 2)
    by_name = {s.name: s for s in spans_of(decoded)}
    server, client = by_name["POST /v1/orders"], by_name["reserve"]
    server_ctx = next(f for f in finished if f.name == "POST /v1/orders").context
    assert server.trace_id == trace.format_trace_id(server_ctx.trace_id)
    assert server.span_id == trace.format_span_id(server_ctx.span_id)
    assert server.parent_span_id is None and client.parent_span_id == server.span_id
    assert (server.service, server.instance) == ("orders", "orders-2")
    assert (server.kind, client.kind) == ("server", "client")
    assert server.attributes == {"http.request.method": "POST", "http.response.status_code": 201,
                                 "souk.order_id": "o-1", "retry": True, "ratio": 0.5,
                                 "tags": ["a", "b"]}
    assert server.order_id == "o-1"
    assert (server.status, client.status, client.status_message) == ("unset", "error",
                                                                    "inventory down")
    assert client.events[0]["name"] == "retrying"
    assert client.events[0]["attributes"] == {"attempt": 2}
    assert server.end_ns >= client.end_ns > client.start_ns >= server.start_ns > 0


def test_garbage_is_not_a_protobuf_export() -> None:
    with pytest.raises(InvalidExport):
        decode_protobuf(b"\xff\xff\xff\xff not protobuf")


def otlp_json(**span: Any) -> dict[str, Any]:
    base = {"traceId": TRACE, "spanId": "eee19b7ec3c1b174", "parentSpanId": "eee19b7ec3c1b173",
            "name": "I'm a server span", "kind": 2, "startTimeUnixNano": "1544712660000000000",
            "endTimeUnixNano": "1544712661000000000",
            "attributes": [{"key": "my.span.attr", "value": {"stringValue": "some value"}},
                           {"key": "n", "value": {"intValue": "42"}},
                           {"key": "list", "value": {"arrayValue": {"values": [
                               {"boolValue": True}, {"doubleValue": 1.5}]}}}],
            "status": {"code": 2, "message": "boom"}}
    base.update(span)
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "payments"}}]},
        "scopeSpans": [{"scope": {"name": "my.library"}, "spans": [base]}]}]}


def test_json_export_uses_hex_ids_camel_case_keys_and_integers_as_strings() -> None:
    decoded = decode_json(orjson.dumps(otlp_json()))

    [span] = spans_of(decoded)
    assert (span.trace_id, span.span_id, span.parent_span_id) == (
        TRACE, "eee19b7ec3c1b174", "eee19b7ec3c1b173")
    assert (span.service, span.instance, span.kind) == ("payments", "", "server")
    assert (span.start_ns, span.end_ns, span.duration_ms) == (
        1544712660000000000, 1544712661000000000, 1000.0)
    assert span.attributes == {"my.span.attr": "some value", "n": 42, "list": [True, 1.5]}
    assert (span.status, span.status_message) == ("error", "boom")


def test_json_enum_names_and_an_empty_parent_are_understood() -> None:
    decoded = decode_json(orjson.dumps(otlp_json(kind="SPAN_KIND_CONSUMER", parentSpanId="",
                                                 status={"code": "STATUS_CODE_OK"})))
    [span] = spans_of(decoded)
    assert (span.kind, span.parent_span_id, span.status) == ("consumer", None, "ok")


@pytest.mark.parametrize("bad", [{"traceId": "W4jv95gDgQPSabYzgT/GDA=="},  # base64, not hex
                                 {"traceId": "0" * 32}, {"traceId": ["x"]}, {"spanId": "abc"},
                                 {"spanId": "eee19b7e c3c1b17"}, {"startTimeUnixNano": "soon"},
                                 {"endTimeUnixNano": "99999999999999999999"},
                                 {"startTimeUnixNano": -1}, {"endTimeUnixNano": True}])
def test_a_malformed_span_is_rejected_alone_and_counted(bad: dict[str, Any]) -> None:
    body = otlp_json(**bad)
    body["resourceSpans"][0]["scopeSpans"][0]["spans"].append(
        otlp_json()["resourceSpans"][0]["scopeSpans"][0]["spans"][0])

    decoded = decode_json(orjson.dumps(body))

    assert (decoded.spans, decoded.rejected) == (1, 1)
    assert decoded.reason


@pytest.mark.parametrize("body", [
    b"{not json", b"[1, 2]", b'{"resourceSpans": 3}', b'{"resourceSpans": [1]}',
    b'{"resourceSpans": [{"scopeSpans": [null]}]}',
    b'{"resourceSpans": [{"scopeSpans": [{"spans": {"traceId": "x"}}]}]}',
    b'{"resourceSpans": [{"scopeSpans": [{"spans": []}]}], "x": 1e999}'])
def test_a_body_that_is_not_an_otlp_json_document_is_invalid(body: bytes) -> None:
    with pytest.raises(InvalidExport):
        decode_json(body)


def test_spans_are_grouped_per_trace_with_what_the_keep_rules_read() -> None:
    def span(trace: str, n: int, start: int, end: int, **extra: Any) -> dict[str, Any]:
        return {"traceId": trace, "spanId": f"{n:016x}", "startTimeUnixNano": str(start),
                "endTimeUnixNano": end, **extra}

    other = "ab" * 16
    body = {"resourceSpans": [{"scopeSpans": [
        {"spans": [span(TRACE, 1, 100, 200), span(other, 2, 5, 6, status={"code": 2})]},
        {"spans": [span(TRACE.upper(), 3, 50, 150), span(TRACE, 4, 120, 400, attributes=[
            {"key": "souk.keep", "value": {"boolValue": True}}])]}]}]}

    decoded = decode_json(orjson.dumps(body))

    facts = sorted((f.trace_id, f.start_ns, f.end_ns, f.error, f.keep, f.size)
                   for f in decoded.fragments)
    # an id sent in upper case is the same trace, in a fragment of its own
    assert facts == [(TRACE, 50, 150, False, False, 1), (TRACE, 100, 400, False, True, 2),
                     (other, 5, 6, True, False, 1)]
    assert {s.service for s in spans_of(decoded)} == {"unknown_service"}


@pytest.mark.parametrize("value", [{"boolValue": False}, {"stringValue": "true"}, {"boolValue": 1}])
def test_only_a_true_boolean_souk_keep_flags_a_trace(value: dict[str, Any]) -> None:
    body = otlp_json(attributes=[{"key": "souk.keep", "value": value}], status={})
    [fragment] = decode_json(orjson.dumps(body)).fragments
    assert not fragment.keep and not fragment.error


def test_proto_field_names_are_understood_too() -> None:
    body = {"resource_spans": [{"scope_spans": [{"spans": [{
        "trace_id": TRACE, "span_id": "eee19b7ec3c1b174", "parent_span_id": "eee19b7ec3c1b173",
        "start_time_unix_nano": 10, "end_time_unix_nano": 20}]}]}]}
    [span] = spans_of(decode_json(orjson.dumps(body)))
    assert (span.parent_span_id, span.start_ns, span.end_ns) == ("eee19b7ec3c1b173", 10, 20)


def test_odd_values_in_a_kept_span_are_kept_as_sent_and_stay_storable() -> None:
    odd = [{"key": "big", "value": {"intValue": "99999999999999999999999"}},
           {"key": "word", "value": {"intValue": "many"}},
           {"key": "nan", "value": {"doubleValue": "NaN"}},
           {"key": "d", "value": {"doubleValue": "x"}},
           {"key": "empty", "value": {}}, {"key": "none"}, "not a pair", {"value": {}},
           {"key": 7, "value": {"arrayValue": {"values": "no"}}},
           {"key": "kv", "value": {"kvlistValue": {"values": [
               {"key": "a", "value": {"stringValue": 1}}]}}}]
    body = otlp_json(attributes=odd, name=5, kind="SPAN_KIND_NONSENSE", status="bad",
                     events=[{"name": "e", "timeUnixNano": "later"}, "not an event",
                             {"timeUnixNano": "7", "attributes": {"not": "a list"}}])

    [span] = spans_of(decode_json(orjson.dumps(body)))

    nan = span.attributes.pop("nan")
    assert math.isnan(nan)
    assert span.attributes == {"big": "99999999999999999999999", "word": "many", "d": "x",
                               "empty": None, "none": None, "7": [], "kv": {"a": "1"}}
    assert (span.name, span.kind, span.status) == ("5", "unspecified", "unset")
    assert span.events == [{"name": "e", "time_ns": 0, "attributes": {}},
                           {"name": "", "time_ns": 7, "attributes": {}}]
    orjson.dumps(span.attributes)  # storable: no integer orjson cannot write


def test_protobuf_is_imported_only_when_a_protobuf_export_arrives() -> None:
    script = """
import sys
import orjson
from telemetry.app import create_app
from telemetry.adapters.otlp import JSON, PROTOBUF, decode_export
heavy = lambda: sorted(m for m in sys.modules if m.startswith(("google.protobuf", "opentelemetry.proto")))
decode_export(JSON, orjson.dumps({"resourceSpans": []}))
assert heavy() == [], heavy()
decode_export(PROTOBUF, b"")
assert "opentelemetry.proto.collector.trace.v1.trace_service_pb2" in heavy()
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_the_response_is_an_empty_export_response_in_the_request_encoding() -> None:
    assert encode_response(JSON) == b"{}"
    assert ExportTraceServiceResponse.FromString(encode_response(PROTOBUF)) == \
        ExportTraceServiceResponse()
    partial = ExportTraceServiceResponse.FromString(encode_response(PROTOBUF, 2, "bad ids"))
    assert (partial.partial_success.rejected_spans, partial.partial_success.error_message) == \
        (2, "bad ids")
    assert orjson.loads(encode_response(JSON, 2, "bad ids")) == {
        "partialSuccess": {"rejectedSpans": "2", "errorMessage": "bad ids"}}
