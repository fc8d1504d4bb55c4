"""The keep rules through HTTP on a real database: OTLP/JSON exports from several services, held
until their trace settles, then kept (error, keep flag, slow, sampled) or dropped; late spans
follow their trace's decision; closing stores what is held. Every wait is bounded
(``settled()``) and nothing asserts on timing.

A trace's deciding span is sent first: were a slow machine to decide the trace between two of its
requests, the rest would be late spans of a kept trace, stored all the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from ...conftest import json_export, json_span, trace_id
from ..conftest import StartTelemetry, Telemetry

pytestmark = pytest.mark.integration

JSON = "application/json"


async def send(t: Telemetry, service: str, *spans: dict[str, Any]) -> None:
    reply = await t.export(json_export(service, *spans), JSON)
    assert (reply.status, reply.raw) == (200, b"{}")


async def send_checkout(t: Telemetry, n: int, *, error: bool = False,
                        keep: bool | None = None, root_ms: float = 40) -> None:
    """A checkout-like trace from three services: the deciding span first, the root last."""
    flag = {} if keep is None else {"souk__keep": keep}
    await send(t, "payments", json_span(n, 3, 2, name="authorize", start_ms=5, duration_ms=20,
                                        error=error, **flag))
    await send(t, "orders", json_span(n, 2, 1, name="POST /v1/orders", start_ms=2,
                                      duration_ms=30, kind=2, souk__order_id=f"o-{n}"))
    await send(t, "gateway", json_span(n, 1, None, name="POST /api/v1/orders",
                                       duration_ms=root_ms, kind=2))


async def found(t: Telemetry, n: int) -> dict[str, Any] | None:
    reply = await t.read(f"/v1/traces/{trace_id(n)}")
    assert reply.status in (200, 404), reply.body
    return reply.body if reply.status == 200 else None


async def test_at_ratio_zero_an_error_trace_is_kept_and_a_plain_fast_one_dropped(
        start_telemetry: StartTelemetry) -> None:
    async with start_telemetry(keep_ratio=0.0) as t:
        await send_checkout(t, 1, error=True)
        await send_checkout(t, 2)
        metrics = await t.settled()

        kept = await found(t, 1)
        assert kept is not None and await found(t, 2) is None
        assert kept["summary"] | {"start_ns": 0, "end_ns": 0} == {
            "trace_id": trace_id(1), "root_service": "gateway",
            "root_name": "POST /api/v1/orders", "has_root": True, "start_ns": 0, "end_ns": 0,
            "duration_ms": 40.0, "span_count": 3, "services": ["gateway", "orders", "payments"],
            "error": True, "order_id": "o-1"}
        assert [item["trace_id"] for item in (await t.read("/v1/traces")).body["items"]] == [
            trace_id(1)]
        assert metrics['souk_telemetry_traces_kept_total{reason="error"}'] == 1
        assert metrics['souk_telemetry_traces_dropped_total{reason="rules"}'] == 1
        assert metrics["souk_telemetry_spans_received_total"] == 6


async def test_at_ratio_one_a_plain_fast_trace_is_kept(start_telemetry: StartTelemetry) -> None:
    async with start_telemetry(keep_ratio=1.0) as t:
        await send_checkout(t, 1)
        metrics = await t.settled()

        detail = await found(t, 1)
        assert detail is not None and detail["summary"]["span_count"] == 3
        assert [s["service"] for s in detail["spans"]] == ["gateway", "orders", "payments"]
        assert metrics['souk_telemetry_traces_kept_total{reason="sampled"}'] == 1


async def test_a_slow_trace_and_a_flagged_checkout_are_kept_at_ratio_zero(
        start_telemetry: StartTelemetry) -> None:
    async with start_telemetry(keep_ratio=0.0, slow_ms=500) as t:
        await send(t, "gateway", json_span(1, 1, None, name="POST /api/v1/orders",
                                           duration_ms=600, kind=2))
        await send(t, "orders", json_span(1, 2, 1, start_ms=1, duration_ms=5))
        await send_checkout(t, 2, keep=True)  # a cancelled checkout: no span failed
        await send_checkout(t, 3, keep=False)
        metrics = await t.settled()

        slow, flagged = await found(t, 1), await found(t, 2)
        assert slow is not None and slow["summary"]["duration_ms"] == 600.0
        assert flagged is not None and flagged["summary"]["error"] is False
        assert await found(t, 3) is None
        assert metrics['souk_telemetry_traces_kept_total{reason="slow"}'] == 1
        assert metrics['souk_telemetry_traces_kept_total{reason="keep-flag"}'] == 1


async def test_late_spans_join_a_kept_trace_and_are_dropped_with_a_dropped_one(
        start_telemetry: StartTelemetry) -> None:
    async with start_telemetry(keep_ratio=0.0) as t:
        await send_checkout(t, 1, error=True)
        await send_checkout(t, 2)
        await t.settled()
        assert await found(t, 1) is not None and await found(t, 2) is None

        await send(t, "notifications", json_span(1, 4, 2, name="consume orders.OrderCancelled.v1",
                                                 start_ms=900, duration_ms=5, kind=5))
        await send(t, "notifications", json_span(2, 4, 2, start_ms=900, error=True))
        metrics = await t.settled()

        detail = await found(t, 1)
        assert detail is not None
        assert (detail["summary"]["span_count"], detail["summary"]["duration_ms"]) == (4, 905.0)
        assert detail["summary"]["services"] == ["gateway", "notifications", "orders", "payments"]
        [root] = detail["tree"]
        assert root["children"][0]["children"][-1]["name"] == "consume orders.OrderCancelled.v1"
        assert await found(t, 2) is None
        assert metrics['souk_telemetry_late_spans_total{outcome="stored"}'] == 1
        assert metrics['souk_telemetry_late_spans_total{outcome="dropped"}'] == 1


async def test_closing_decides_and_stores_every_trace_still_held(
        start_telemetry: StartTelemetry) -> None:
    async with start_telemetry(keep_ratio=0.0, settle_seconds=600,
                       max_hold_seconds=600) as t:
        await send_checkout(t, 1, error=True)
        await send_checkout(t, 2)
        assert (await t.metrics())["souk_telemetry_spans_held"] == 6

    # started again: the test traces start in 2023, older than the default age limit
    async with start_telemetry(max_age_seconds=1e10) as t:
        assert await found(t, 1) is not None and await found(t, 2) is None


async def test_a_bad_span_is_refused_alone_and_odd_values_are_stored_as_sent(
        start_telemetry: StartTelemetry) -> None:
    async with start_telemetry() as t:
        odd = json_span(1, 1, None, big=0)
        odd["attributes"][0]["value"] = {"intValue": "123456789012345678901234567890"}
        bad = json_span(1, 2, 1, start_ms=1) | {"startTimeUnixNano": "99999999999999999999"}
        reply = await t.export(json_export("cart", odd, bad), JSON)

        assert reply.status == 200
        assert reply.body["partialSuccess"]["rejectedSpans"] == "1"
        metrics = await t.settled()
        detail = await found(t, 1)
        assert detail is not None and detail["summary"]["span_count"] == 1
        assert detail["spans"][0]["attributes"] == {"big": "123456789012345678901234567890"}
        assert metrics["souk_telemetry_spans_rejected_total"] == 1


@pytest.mark.parametrize("body", [
    b"", b"null", b"[]", b'{"resourceSpans": {}}', b'{"resourceSpans": ["x"]}',
    b'{"resourceSpans": [{"scopeSpans": [{"spans": 7}]}]}', b'{"resourceSpans": [] ', b"\xff\xfe",
    b'{"resourceSpans": [{"scopeSpans": "all"}]}'])
async def test_a_malformed_json_export_is_a_400_problem(start_telemetry: StartTelemetry,
                                                        body: bytes) -> None:
    async with start_telemetry() as t:
        reply = await t.export(body, JSON)

        assert (reply.status, reply.headers["content-type"]) == (400, "application/problem+json")
        assert reply.body["type"].endswith("/telemetry/invalid-export")
