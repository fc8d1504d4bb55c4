"""The receiver and the search API over real HTTP, on SQLite and PostgreSQL (every trace kept:
keep ratio 1; see test_tail_sampling.py for the rules)."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from ..conftest import CUSTOMER, Telemetry

pytestmark = pytest.mark.integration

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def tid(n: int) -> bytes:
    return n.to_bytes(16, "big")


def sid(n: int) -> bytes:
    return n.to_bytes(8, "big")


def pb_span(trace: int, span: int, parent: int | None, name: str, start_ms: float,
            duration_ms: float, *, error: bool = False, kind: int = Span.SPAN_KIND_INTERNAL,
            **attributes: str) -> Span:
    start = T0 + int(start_ms * MS)
    return Span(trace_id=tid(trace), span_id=sid(span),
                parent_span_id=sid(parent) if parent else b"", name=name, kind=kind,
                start_time_unix_nano=start, end_time_unix_nano=start + int(duration_ms * MS),
                status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_UNSET),
                attributes=[KeyValue(key=k.replace("__", "."), value=AnyValue(string_value=v))
                            for k, v in attributes.items()])


def export(service: str, *spans: Span) -> bytes:
    resource_attrs = [KeyValue(key="service.name", value=AnyValue(string_value=service)),
                      KeyValue(key="service.instance.id", value=AnyValue(string_value=f"{service}-1"))]
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource={"attributes": resource_attrs}, scope_spans=[ScopeSpans(spans=list(spans))])])
    return request.SerializeToString()


PB = "application/x-protobuf"
JSON = "application/json"


async def send_checkout_trace(t: Telemetry, trace: int = 1, *, start_ms: float = 0,
                              declined: bool = False, order_id: str = "o-1") -> None:
    """One trace in three batches from three services, children before the root."""
    base = trace * 100
    assert (await t.export(export("payments", pb_span(
        trace, base + 3, base + 2, "authorize", start_ms + 5, 20, error=declined,
        souk__order_id=order_id)), PB)).status == 200
    assert (await t.export(export("orders", pb_span(
        trace, base + 2, base + 1, "saga checkout", start_ms + 2, 30, souk__order_id=order_id,
        kind=Span.SPAN_KIND_CONSUMER)), PB)).status == 200
    assert (await t.export(export("gateway", pb_span(
        trace, base + 1, None, "POST /api/v1/orders", start_ms, 40,
        kind=Span.SPAN_KIND_SERVER)), PB)).status == 200


async def test_protobuf_ingest_answers_an_empty_protobuf_export_response(
        telemetry: Telemetry) -> None:
    reply = await telemetry.export(export("gateway", pb_span(1, 1, None, "GET /", 0, 1)), PB)

    assert (reply.status, reply.headers["content-type"]) == (200, PB)
    assert ExportTraceServiceResponse.FromString(reply.raw) == ExportTraceServiceResponse()


async def test_a_trace_sent_in_batches_from_several_services_is_one_summary_and_one_tree(
        telemetry: Telemetry) -> None:
    await send_checkout_trace(telemetry)
    trace_id = tid(1).hex()
    await telemetry.settled()

    page = await telemetry.read("/v1/traces")
    assert page.status == 200 and page.body["next"] is None
    [summary] = page.body["items"]
    assert summary == {
        "trace_id": trace_id, "root_service": "gateway", "root_name": "POST /api/v1/orders",
        "has_root": True, "start_ns": T0, "end_ns": T0 + 40 * MS, "duration_ms": 40.0,
        "span_count": 3, "services": ["gateway", "orders", "payments"], "error": False,
        "order_id": "o-1"}

    reply = await telemetry.read(f"/v1/traces/{trace_id}")
    assert reply.status == 200
    detail = reply.body
    assert detail["trace_id"] == trace_id and detail["summary"] == summary
    assert [s["name"] for s in detail["spans"]] == ["POST /api/v1/orders", "saga checkout",
                                                     "authorize"]
    [root] = detail["tree"]
    assert (root["service"], root["kind"]) == ("gateway", "server")
    [saga] = root["children"]
    assert (saga["service"], saga["kind"], saga["attributes"]) == (
        "orders", "consumer", {"souk.order_id": "o-1"})
    assert [c["name"] for c in saga["children"]] == ["authorize"]


async def test_json_ingest_with_hex_ids_lands_in_the_same_store(telemetry: Telemetry) -> None:
    doc = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "cart"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "GET /v1/cart", "kind": 2, "startTimeUnixNano": str(T0),
            "endTimeUnixNano": str(T0 + 3 * MS), "status": {"code": 2}}]}]}]}

    reply = await telemetry.export(orjson.dumps(doc), "application/json")

    assert (reply.status, reply.headers["content-type"], reply.raw) == (
        200, "application/json", b"{}")
    await telemetry.settled()
    reply = await telemetry.read("/v1/traces/5B8EFFF798038103D269B633813FC60C")
    assert reply.status == 200
    assert reply.body["summary"]["error"] is True
    assert reply.body["spans"][0]["status"] == "error"


@pytest.mark.parametrize(("encoding", "compress"), [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("identity", lambda body: body)])
async def test_gzip_and_deflate_bodies_are_inflated(telemetry: Telemetry, encoding: str,
                                                   compress: Callable[[bytes], bytes]) -> None:
    body = compress(export("gateway", pb_span(7, 1, None, "GET /gz", 0, 1)))

    reply = await telemetry.export(body, PB, **{"Content-Encoding": encoding})

    assert reply.status == 200
    await telemetry.settled()
    assert (await telemetry.read(f"/v1/traces/{tid(7).hex()}")).status == 200


@pytest.mark.parametrize(("body", "ctype", "headers", "expected"), [
    (b"\xff\xff\xff garbage", PB, {}, (400, "telemetry/invalid-export")),
    (b"{oops", "application/json", {}, (400, "telemetry/invalid-export")),
    (b"not gzip", PB, {"Content-Encoding": "gzip"}, (400, "telemetry/invalid-export")),
    (b"x", "text/plain", {}, (415, "unsupported-media-type")),
    (b"x", PB, {"Content-Encoding": "br"}, (415, "unsupported-media-type")),
    (b"\x00" * (65 * 1024), PB, {}, (413, "too-large")),
    (gzip.compress(b"\x00" * (200 * 1024), mtime=0), PB, {"Content-Encoding": "gzip"}, (413, "too-large")),
    (gzip.compress(b"{}", mtime=0)[:-12], JSON, {"Content-Encoding": "gzip"},
     (400, "telemetry/invalid-export")),  # truncated
])
async def test_bad_exports_are_clear_problems(telemetry: Telemetry, body: bytes, ctype: str,
                                              headers: dict[str, str],
                                              expected: tuple[int, str]) -> None:
    reply = await telemetry.export(body, ctype, **headers)

    assert (reply.status, reply.headers["content-type"]) == (
        expected[0], "application/problem+json")
    assert reply.body["type"].endswith("/" + expected[1])



async def test_search_filters_by_service_operation_status_duration_and_order(
        telemetry: Telemetry) -> None:
    await send_checkout_trace(telemetry, 1, start_ms=0, order_id="o-1")
    await send_checkout_trace(telemetry, 2, start_ms=100, declined=True, order_id="o-2")
    await telemetry.export(export("catalog", pb_span(3, 301, None, "GET /v1/products", 200, 2)),
                           PB)
    await telemetry.settled()

    async def ids(**params: Any) -> list[int]:
        reply = await telemetry.read("/v1/traces", **params)
        assert reply.status == 200, reply.body
        return [int(item["trace_id"], 16) for item in reply.body["items"]]

    assert await ids() == [3, 2, 1]
    assert await ids(service="payments") == [2, 1]
    assert await ids(service="catalog") == [3]
    assert await ids(operation="authorize") == [2, 1]
    assert await ids(operation="authorize", service="orders") == []
    assert await ids(status="error") == [2]
    assert await ids(status="ok") == [3, 1]
    assert await ids(min_duration_ms="10") == [2, 1]
    assert await ids(order_id="o-1") == [1]
    assert await ids(service="pay_ents") == []  # LIKE wildcards are escaped
    services = await telemetry.read("/v1/services")
    assert (services.status, services.body) == (
        200, {"items": ["catalog", "gateway", "orders", "payments"]})


async def test_search_pages_with_the_next_cursor_passed_as_before(telemetry: Telemetry) -> None:
    for n in range(1, 6):
        await telemetry.export(export("gateway", pb_span(n, n, None, "GET /", n, 1)), PB)
    await telemetry.settled()

    seen: list[str] = []
    before: str | None = None
    for _ in range(5):
        params = {"limit": "2"} | ({"before": before} if before else {})
        reply = await telemetry.read("/v1/traces", **params)
        assert reply.status == 200
        seen += [item["trace_id"] for item in reply.body["items"]]
        before = reply.body["next"]
        if before is None:
            break
    assert seen == [tid(n).hex() for n in (5, 4, 3, 2, 1)]
    first = (await telemetry.read("/v1/traces", limit="2")).body["next"]
    tampered = first[:-2] + ("A" if first[-2] != "A" else "B") + first[-1]
    reply = await telemetry.read("/v1/traces", before=tampered)
    assert reply.status == 400 and reply.body["type"].endswith("/invalid-cursor")


@pytest.mark.parametrize(("path", "params", "expected"), [
    ("/v1/traces/not-a-trace-id", {}, (400, "telemetry/invalid-trace-id")),
    ("/v1/traces/" + "0" * 32, {}, (400, "telemetry/invalid-trace-id")),
    ("/v1/traces/" + "ab" * 16, {}, (404, "telemetry/trace-not-found")),
    ("/v1/traces", {"limit": "201"}, (400, "validation-error")),
    ("/v1/traces", {"status": "maybe"}, (400, "validation-error")),
    ("/v1/traces", {"min_duration_ms": "-1"}, (400, "validation-error")),
    ("/v1/traces", {"service": "a b"}, (400, "validation-error")),
    ("/v1/traces", {"before": "yesterday"}, (400, "invalid-cursor")),
    ("/v1/traces", {"after": "x"}, (400, "validation-error")),  # a typo is not ignored
])
async def test_bad_reads_are_clear_problems(telemetry: Telemetry, path: str,
                                            params: dict[str, str],
                                            expected: tuple[int, str]) -> None:
    reply = await telemetry.read(path, **params)

    assert reply.status == expected[0]
    assert reply.body["type"].endswith("/" + expected[1])


@pytest.mark.parametrize("path", ["/v1/traces", "/v1/traces/" + "ab" * 16, "/v1/services"])
async def test_reading_traces_needs_the_admin_role(telemetry: Telemetry, path: str) -> None:
    assert (await telemetry.read(path, roles=None)).status == 401
    assert (await telemetry.read(path, roles=CUSTOMER)).status == 403
