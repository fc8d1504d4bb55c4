"""Trace context across HTTP, the outbox and NATS: the real app factory, a real nats-server and
SQLite, spans captured with the SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import ClassVar

import aiohttp
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from chassis import ServiceSettings, create_service_app
from chassis.messaging import Incoming, MessageTx
from chassis.runtime import Runtime
from chassis.testing import nats_server, serve_app
from chassis.tracing import Tracing
from contracts import Event

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parent / "messaging_migrations"


class Traced(Event):
    TYPE: ClassVar[str] = "test.Traced.v1"
    n: int


class Answered(Event):
    TYPE: ClassVar[str] = "test.Answered.v1"
    n: int


def tracing_for(service: str, exporter: InMemorySpanExporter) -> Tracing:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider.get_tracer("test"), provider)


@pytest.fixture
def nats_url() -> Iterator[str]:
    with nats_server() as url:
        yield url


@pytest.fixture
async def two_services(tmp_path: Path, nats_url: str
                       ) -> AsyncIterator[tuple[str, InMemorySpanExporter]]:
    """'front' publishes Traced from an HTTP handler; 'back' consumes it and answers."""
    exporter = InMemorySpanExporter()
    front = create_service_app(
        ServiceSettings(service_name="front", port=0, nats_url=nats_url, log_level="warning",
                        database_url=f"sqlite:///{tmp_path / 'front.db'}"),
        title="front", migrations=MIGRATIONS, messaging=True, verify_tokens=False,
        register=False, tracing=tracing_for("front", exporter))

    async def publish() -> dict[str, int]:
        runtime: Runtime = front.state.runtime
        async with runtime.require_messaging().transaction(correlation_id="order-1") as tx:
            tx.publish(Traced(n=1), msg_id=f"t-{time.time_ns()}")
        return {"ok": 1}

    front.add_api_route("/v1/go", publish, methods=["POST"])

    async def on_traced(tx: MessageTx, event: Traced, meta: Incoming) -> None:
        await tx.execute("INSERT INTO effects (msg_id, value) VALUES (:id, :v)",
                         {"id": meta.id, "v": event.n})
        tx.publish(Answered(n=event.n), msg_id=f"{meta.id}.r")

    @asynccontextmanager
    async def subscribe(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
        runtime.require_messaging().subscribe({Traced: on_traced})
        yield

    back = create_service_app(
        ServiceSettings(service_name="back", port=0, nats_url=nats_url, log_level="warning",
                        database_url=f"sqlite:///{tmp_path / 'back.db'}"),
        title="back", migrations=MIGRATIONS, messaging=True, verify_tokens=False,
        register=False, tracing=tracing_for("back", exporter), lifespan=subscribe)
    async with serve_app(front) as url, serve_app(back):
        await front.state.runtime.messaging.wait_started(10)
        await back.state.runtime.messaging.wait_started(10)
        yield url, exporter


def by_id(spans: tuple[ReadableSpan, ...], span_id: int) -> ReadableSpan:
    return next(s for s in spans if s.context.span_id == span_id)


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    matches = [s for s in spans if s.name == name]
    assert matches, f"no span {name!r} in {[s.name for s in spans]}"
    return matches[0]


async def test_one_trace_from_http_through_the_outbox_and_nats(
        two_services: tuple[str, InMemorySpanExporter]) -> None:
    url, exporter = two_services
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{url}/v1/go") as r:  # no traceparent: services start no trace
            assert r.status == 200
        await asyncio.sleep(0.3)
        assert not [sp for sp in exporter.get_finished_spans() if sp.name == "POST /v1/go"]
        exporter.clear()
        edge = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"  # as the gateway sends
        async with s.post(f"{url}/v1/go", headers={"traceparent": edge}) as r:
            assert r.status == 200
    for _ in range(100):
        names = [span.name for span in exporter.get_finished_spans()]
        if "consume test.Traced.v1" in names:
            break
        await asyncio.sleep(0.05)
    spans = exporter.get_finished_spans()
    server = by_name(spans, "POST /v1/go")
    consume = by_name(spans, "consume test.Traced.v1")
    assert server.kind is SpanKind.SERVER and consume.kind is SpanKind.CONSUMER
    trace_id = server.context.trace_id
    assert trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert server.parent.span_id == 0xB7AD6B7169203331
    assert consume.context.trace_id == trace_id
    # the handler's transaction is a span of the request, and the publish an event in it; the
    # consumer's span continues from there, across the outbox and NATS
    tx = by_id(spans, consume.parent.span_id)
    assert tx.name == "db.transaction" and tx.parent.span_id == server.context.span_id
    assert [e.name for e in tx.events] == ["publish test.Traced.v1"]
    assert [e.name for e in consume.events] == ["publish test.Answered.v1"]
    assert consume.resource.attributes["service.name"] == "back"
    assert consume.attributes["souk.order_id"] == "order-1"
