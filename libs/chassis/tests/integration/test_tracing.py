"""Trace context across HTTP, the outbox and NATS: the real app factory, a real nats-server and
SQLite, spans kept in memory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import msgspec
import pytest

from chassis import ServiceSettings, create_service_app
from chassis.messaging import Incoming, MessageHandlers, MessageTx
from chassis.runtime import Runtime
from chassis.testing import InMemoryExporter, TestIssuer, serve_app
from chassis.tracing import SpanKind, Tracing
from chassis.web import Router
from contracts import Event

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parent / "messaging_migrations"


class Traced(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.Traced.v1"
    n: int


class Answered(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.Answered.v1"
    n: int


class Ok(msgspec.Struct):
    ok: int


back_handlers = MessageHandlers()


@back_handlers.on(Traced)
async def on_traced(event: Traced, tx: MessageTx, meta: Incoming) -> None:
    await tx.execute("INSERT INTO effects (msg_id, value) VALUES (:id, :v)",
                     {"id": meta.id, "v": event.n})
    tx.publish(Answered(n=event.n), msg_id=f"{meta.id}.r")


@pytest.fixture
async def two_services(tmp_path: Path, nats_url: str,
                       issuer: TestIssuer) -> AsyncIterator[tuple[str, list[Any]]]:
    """'front' publishes Traced from an HTTP handler; 'back' consumes it and answers."""
    spans: list[Any] = []
    router = Router()

    @router.post("/v1/go")
    async def go(runtime: Runtime) -> Ok:
        async with runtime.require_messaging().transaction(correlation_id="order-1") as tx:
            tx.publish(Traced(n=1), msg_id=f"t-{time.time_ns()}")
        return Ok(1)

    front = create_service_app(
        ServiceSettings(service_name="front", port=0, nats_url=nats_url, log_level="warning",
                        database_url=f"sqlite:///{tmp_path / 'front.db'}"),
        title="front", migrations=MIGRATIONS, messaging=True, verify_tokens=False,
        register=False, tracing=Tracing(InMemoryExporter(spans, "front")), routers=[router])
    back = create_service_app(
        ServiceSettings(service_name="back", port=0, nats_url=nats_url, log_level="warning",
                        database_url=f"sqlite:///{tmp_path / 'back.db'}"),
        title="back", migrations=MIGRATIONS, handlers=back_handlers, verify_tokens=False,
        register=False, tracing=Tracing(InMemoryExporter(spans, "back")))
    front.verifier = back.verifier = issuer.verifier()  # for the chassis's admin routes
    async with serve_app(front) as url, serve_app(back):
        await front.runtime.messaging.wait_started(10)  # type: ignore[attr-defined]
        await back.runtime.messaging.wait_started(10)  # type: ignore[attr-defined]
        yield url, spans


def by_name(spans: list[Any], name: str) -> Any:
    matches = [s for s in spans if s.name == name]
    assert matches, f"no span {name!r} in {[s.name for s in spans]}"
    return matches[0]


async def test_one_trace_from_http_through_the_outbox_and_nats(
        two_services: tuple[str, list[Any]]) -> None:
    url, spans = two_services
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{url}/v1/go") as r:  # no traceparent: services start no trace
            assert r.status == 200
        await asyncio.sleep(0.3)
        assert spans == []
        edge = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"  # as the gateway sends
        async with s.post(f"{url}/v1/go", headers={"traceparent": edge}) as r:
            assert r.status == 200
    for _ in range(100):
        if "consume test.Traced.v1" in [span.name for span in spans]:
            break
        await asyncio.sleep(0.05)
    server = by_name(spans, "POST /v1/go")
    consume = by_name(spans, "consume test.Traced.v1")
    assert server.kind is SpanKind.SERVER and consume.kind is SpanKind.CONSUMER
    assert server.context.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert server.parent_id == "b7ad6b7169203331"
    assert server.attributes["http.response.status_code"] == 200
    # one span per hop: the publish is an event of the request's span, and the consumer's span
    # continues from it across the outbox and NATS; a fast transaction is no span at all
    assert consume.context.trace_id == server.context.trace_id
    assert consume.parent_id == server.context.span_id
    assert [name for _, name, _ in server.events or []] == ["publish test.Traced.v1"]
    assert [name for _, name, _ in consume.events or []] == ["publish test.Answered.v1"]
    assert consume.attributes["test.service"] == "back"
    assert consume.attributes["souk.order_id"] == "order-1"
    assert not [sp for sp in spans if sp.name == "db.transaction"]


async def test_an_unsampled_trace_records_nothing_but_carries_on(
        two_services: tuple[str, list[Any]]) -> None:
    url, spans = two_services
    unsampled = "00-0af7651916cd43dd8448eb211c80319d-b7ad6b7169203331-00"
    async with aiohttp.ClientSession() as s, s.post(f"{url}/v1/go",
                                                    headers={"traceparent": unsampled}) as r:
        assert r.status == 200
    await asyncio.sleep(0.5)
    assert spans == []
