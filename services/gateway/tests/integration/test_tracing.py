"""The edge starts every trace: one server span per request, its context sent upstream, a
caller's traceparent never trusted."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from chassis.testing import InMemoryExporter, free_port
from chassis.trace_keep import TailKeep
from chassis.tracing import SpanKind, Tracing, parse_traceparent
from gateway.app import create_app
from gateway.serving import serving
from gateway.settings import GatewaySettings

pytestmark = pytest.mark.integration

FORGED = "00-11111111111111111111111111111111-2222222222222222-01"


async def test_one_server_span_per_request_whose_context_the_upstream_continues(
        stack: AsyncExitStack, discovery: Any, routes_file: Path, start_upstream: Any,
        client: Any) -> None:
    await start_upstream("catalog-1")
    settings = GatewaySettings(routes_file=str(routes_file), port=free_port(),
                               log_level="warning")
    app = create_app(settings, discovery=discovery, filters=())
    spans: list[Any] = []
    app.tracing = Tracing(InMemoryExporter(spans))
    await stack.enter_async_context(serving(app, "127.0.0.1", settings.port))
    base = f"http://127.0.0.1:{settings.port}"
    async with client.get(f"{base}/api/v1/catalog/echo", headers={"traceparent": FORGED}) as r:
        assert r.status == 200
        sent = dict(reversed((await r.json())["headers"]))
        request_id = r.headers["x-request-id"]
    context = parse_traceparent(sent["traceparent"])
    assert context is not None and context.trace_id != FORGED.split("-")[1]
    # the request id a client quotes is the trace id (unless it sent its own)
    assert request_id == sent["x-request-id"] == context.trace_id
    (span,) = spans
    assert (span.trace_id, span.span_id, span.parent_id) == (context.trace_id,
                                                             context.span_id, "")
    assert span.kind == SpanKind.SERVER and span.name == "GET /api/v1/catalog/echo"
    assert dict(span.attributes)["http.response.status_code"] == 200
    async with client.get(f"{base}/health/live") as r:  # probes are not traced
        assert r.status == 200
    assert len(spans) == 1


async def test_the_edge_keeps_its_span_when_the_upstream_says_the_trace_is_kept(
        stack: AsyncExitStack, discovery: Any, routes_file: Path, start_upstream: Any,
        client: Any) -> None:
    await start_upstream("catalog-1")
    settings = GatewaySettings(routes_file=str(routes_file), port=free_port(),
                               log_level="warning")
    app = create_app(settings, discovery=discovery, filters=())
    kept: list[Any] = []

    class Kept:
        def export(self, span: Any) -> None:
            kept.append(span)

        def flush(self, timeout: float = 5.0) -> None: ...

        def shutdown(self) -> None: ...

        async def aclose(self) -> None: ...

    app.tracing = Tracing(TailKeep(Kept(), keep_ratio=0.0, slow_ms=60_000))  # keep by word only
    await stack.enter_async_context(serving(app, "127.0.0.1", settings.port))
    base = f"http://127.0.0.1:{settings.port}"
    async with client.get(f"{base}/api/v1/catalog/echo") as r:
        assert r.status == 200
    assert kept == []
    async with client.get(f"{base}/api/v1/catalog/echo?keep=1") as r:
        assert r.status == 200
        assert "souk-trace-keep" not in r.headers  # the word is for the edge only
    (span,) = kept
    assert span.name == "GET /api/v1/catalog/echo"
