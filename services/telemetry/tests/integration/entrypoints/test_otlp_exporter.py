"""The real OpenTelemetry SDK exporter (OTLP/HTTP protobuf, plain and gzip) sends two services'
spans of one trace; search and the tree show them as one trace with the right parentage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from ..conftest import StartTelemetry, Telemetry

pytestmark = pytest.mark.integration


@pytest.fixture
async def telemetry(start_telemetry: StartTelemetry) -> AsyncIterator[Telemetry]:
    async with start_telemetry() as running:  # the default body limit: an SDK batch is large
        yield running


def provider(base_url: str, service: str, compression: Compression) -> TracerProvider:
    tracer_provider = TracerProvider(resource=Resource.create(
        {"service.name": service, "service.instance.id": f"{service}-1"}))
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
        endpoint=f"{base_url}/v1/traces", compression=compression, timeout=5)))
    return tracer_provider


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
async def test_two_services_spans_of_one_trace_come_back_as_one_tree(
        telemetry: Telemetry, compression: Compression) -> None:
    gateway = provider(telemetry.url, "gateway", compression)
    orders = provider(telemetry.url, "orders", compression)
    try:
        gw, orders_tracer = gateway.get_tracer("gw"), orders.get_tracer("orders")
        # orders continues the trace from the propagated context, as over HTTP
        with (gw.start_as_current_span("POST /api/v1/orders", kind=SpanKind.SERVER, attributes={
                  "http.request.method": "POST", "http.route": "/api/v1/orders"}) as root,
              gw.start_as_current_span("proxy orders", kind=SpanKind.CLIENT),
              orders_tracer.start_as_current_span("POST /v1/orders", kind=SpanKind.SERVER,
                                                  attributes={"souk.order_id": "o-42"}),
              orders_tracer.start_as_current_span("saga.authorize",
                                                  attributes={"souk.order_id": "o-42"}) as step):
            step.set_status(Status(StatusCode.ERROR, "declined"))
        trace_id = trace.format_trace_id(root.get_span_context().trace_id)
        # the batch processors export from their own threads; flush without blocking the loop
        assert await asyncio.to_thread(orders.force_flush, 10_000)
        assert await asyncio.to_thread(gateway.force_flush, 10_000)
    finally:
        await asyncio.to_thread(orders.shutdown)
        await asyncio.to_thread(gateway.shutdown)

    await telemetry.settled()
    page = await telemetry.read("/v1/traces", order_id="o-42")
    assert page.status == 200
    [summary] = page.body["items"]
    assert summary["trace_id"] == trace_id
    assert (summary["root_service"], summary["root_name"], summary["span_count"]) == (
        "gateway", "POST /api/v1/orders", 4)
    assert summary["services"] == ["gateway", "orders"] and summary["error"] is True
    assert (await telemetry.read("/v1/traces", service="orders", status="error")).body[
        "items"] == [summary]

    reply = await telemetry.read(f"/v1/traces/{trace_id}")
    assert reply.status == 200
    detail = reply.body

    def shape(node: dict[str, object]) -> object:
        children = node["children"]
        assert isinstance(children, list)
        label = f"{node['service']}:{node['name']}:{node['kind']}:{node['status']}"
        return (label, [shape(c) for c in children]) if children else label

    assert [shape(n) for n in detail["tree"]] == [
        ("gateway:POST /api/v1/orders:server:unset", [
            ("gateway:proxy orders:client:unset", [
                ("orders:POST /v1/orders:server:unset", [
                    "orders:saga.authorize:internal:error"])])])]
    assert [s["instance"] for s in detail["spans"]] == ["gateway-1", "gateway-1", "orders-1",
                                                        "orders-1"]
