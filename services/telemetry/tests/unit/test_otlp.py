from __future__ import annotations

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

from telemetry.adapters.otlp import JSON, PROTOBUF, decode_json, decode_protobuf, encode_response
from telemetry.domain.errors import InvalidExport

pytestmark = pytest.mark.unit

TRACE = "5b8efff798038103d269b633813fc60c"


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

    assert decoded.rejected == 0
    by_name = {s.name: s for s in decoded.spans}
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

    [span] = decoded.spans
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
    [span] = decoded.spans
    assert (span.kind, span.parent_span_id, span.status) == ("consumer", None, "ok")


@pytest.mark.parametrize("bad", [{"traceId": "W4jv95gDgQPSabYzgT/GDA=="},  # base64, not hex
                                 {"traceId": "0" * 32}, {"spanId": "abc"},
                                 {"startTimeUnixNano": "soon"}])
def test_a_malformed_span_is_rejected_alone_and_counted(bad: dict[str, Any]) -> None:
    body = otlp_json(**bad)
    body["resourceSpans"][0]["scopeSpans"][0]["spans"].append(
        otlp_json()["resourceSpans"][0]["scopeSpans"][0]["spans"][0])

    decoded = decode_json(orjson.dumps(body))

    assert (len(decoded.spans), decoded.rejected) == (1, 1)
    assert decoded.reason


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"resourceSpans": 3}'])
def test_a_body_that_is_not_an_otlp_json_document_is_invalid(body: bytes) -> None:
    with pytest.raises(InvalidExport):
        decode_json(body)


def test_the_response_is_an_empty_export_response_in_the_request_encoding() -> None:
    assert encode_response(JSON) == b"{}"
    assert ExportTraceServiceResponse.FromString(encode_response(PROTOBUF)) == \
        ExportTraceServiceResponse()
    partial = ExportTraceServiceResponse.FromString(encode_response(PROTOBUF, 2, "bad ids"))
    assert (partial.partial_success.rejected_spans, partial.partial_success.error_message) == \
        (2, "bad ids")
    assert orjson.loads(encode_response(JSON, 2, "bad ids")) == {
        "partialSuccess": {"rejectedSpans": "2", "errorMessage": "bad ids"}}
