"""Spans reach an OTLP/HTTP receiver in batches, as OTLP/JSON, from the export thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from chassis.tracing import SpanKind, Tracing

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[Any]]]:
    received: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], orjson.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_finished_spans_are_posted_as_one_otlp_json_batch(
        receiver: tuple[str, list[Any]]) -> None:
    url, received = receiver
    tracing = Tracing.from_settings("orders", "orders-1", url, 1.0)
    for i in range(3):
        with tracing.span(f"op {i}", kind=SpanKind.SERVER):
            pass
    tracing.flush()
    tracing.shutdown()
    assert len(received) == 1
    path, content_type, doc = received[0]
    assert (path, content_type) == ("/v1/traces", "application/json")
    resource = doc["resourceSpans"][0]
    assert {"key": "service.instance.id", "value": {"stringValue": "orders-1"}} in \
        resource["resource"]["attributes"]
    assert [s["name"] for s in resource["scopeSpans"][0]["spans"]] == ["op 0", "op 1", "op 2"]
    assert tracing.exporter.inner.exported == 3  # type: ignore[union-attr]


def test_a_receiver_that_is_down_costs_the_batch_not_the_caller() -> None:
    tracing = Tracing.from_settings("orders", "orders-1", "http://127.0.0.1:9", 1.0)
    with tracing.span("op"):
        pass
    tracing.flush()
    tracing.shutdown()
    assert tracing.exporter.inner.dropped == 1  # type: ignore[union-attr]


async def test_a_running_service_posts_from_its_loop_and_on_close(
        receiver: tuple[str, list[Any]]) -> None:
    url, received = receiver
    tracing = Tracing.from_settings("orders", "orders-1", url, 1.0)
    tracing.exporter.inner.interval = 0.05  # type: ignore[union-attr]
    with tracing.span("first", kind=SpanKind.SERVER):
        pass
    for _ in range(100):  # the loop's task posts it
        if received:
            break
        await asyncio.sleep(0.02)
    with tracing.span("last", kind=SpanKind.SERVER):
        pass
    await tracing.aclose()  # posts what is left
    names = [s["name"] for _, _, doc in received
             for s in doc["resourceSpans"][0]["scopeSpans"][0]["spans"]]
    assert names == ["first", "last"]
