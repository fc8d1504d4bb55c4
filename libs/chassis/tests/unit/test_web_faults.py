"""Route faults switched on in a running app (chassis.web.faults): delays, error answers, and
the one check they cost while none is on."""

from __future__ import annotations

import msgspec
import pytest

from chassis import ServiceSettings, create_service_app
from chassis.fault_rules import ActiveFaults, RouteFault
from chassis.testing.asgi import AsgiClient
from chassis.web import App, Router

pytestmark = pytest.mark.unit

router = Router(tags=["demo"])


@router.get("/v1/items/{n}")
async def get_item(n: int) -> dict[str, int]:
    return {"n": n}


@router.post("/v1/items", status=201)
async def add_item() -> dict[str, int]:
    return {"n": 1}


def make_app() -> App:
    return create_service_app(ServiceSettings(service_name="demo", port=1), use_broker=False,
                              routers=[router])


@pytest.fixture
async def client() -> AsgiClient:
    async with AsgiClient(make_app()) as c:
        yield c  # type: ignore[misc]


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []

    async def delay(self: ActiveFaults, seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr(ActiveFaults, "delay", delay)
    return delays


async def test_an_error_rule_answers_its_status_as_an_injected_fault(client: AsgiClient) -> None:
    client.app.faults.set_routes([RouteFault(route="GET /v1/items/{n}", error_rate=1.0,
                                             error_status=502)])
    reply = await client.request("GET", "/v1/items/3")
    assert reply.status == 502
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.body["type"].endswith("/fault/injected")
    assert "GET /v1/items/{n}" in reply.body["detail"]
    # another route is untouched, and so is the route once the rule is gone
    assert (await client.request("POST", "/v1/items")).status == 201
    client.app.faults.set_routes([])
    assert (await client.request("GET", "/v1/items/3")).body == {"n": 3}


async def test_a_latency_rule_delays_then_lets_the_handler_answer(
        client: AsgiClient, slept: list[float]) -> None:
    client.app.faults.set_routes([RouteFault(route="*", latency_ms=1500)])
    reply = await client.request("POST", "/v1/items")
    assert reply.status == 201 and slept == [1.5]


async def test_the_star_rule_leaves_the_operations_routes_alone(
        client: AsgiClient, slept: list[float]) -> None:
    client.app.faults.set_routes([RouteFault(route="*", latency_ms=10, error_rate=1.0)])
    assert (await client.request("GET", "/health/live")).status == 200
    assert (await client.request("GET", "/metrics")).status == 200
    assert (await client.request("GET", "/v1/items/1")).status == 503
    assert slept == [0.01]
    # named, an operations route is faulted like any other
    client.app.faults.set_routes([RouteFault(route="GET /health/live", error_rate=1.0)])
    assert (await client.request("GET", "/health/live")).status == 503


async def test_rates_of_zero_change_nothing(client: AsgiClient, slept: list[float]) -> None:
    client.app.faults.set_routes([RouteFault(route="*", latency_ms=100, latency_rate=0.0)])
    assert (await client.request("GET", "/v1/items/2")).body == {"n": 2}
    assert slept == []


async def test_without_a_dropping_server_a_drop_answers_the_error(client: AsgiClient) -> None:
    client.app.faults.set_routes([RouteFault(route="*", drop_rate=1.0, error_status=504)])
    reply = await client.request("GET", "/v1/items/2")
    assert reply.status == 504 and reply.body["type"].endswith("/fault/injected")


def test_the_document_declares_the_server_errors_a_fault_can_answer() -> None:
    doc = msgspec.json.decode(make_app().openapi())
    for path in doc["paths"].values():
        for op in path.values():
            assert "fault/injected" in op["responses"]["5XX"]["description"]


def test_a_rule_cannot_inject_a_client_error() -> None:
    with pytest.raises(msgspec.ValidationError, match="error_status"):
        msgspec.convert({"route": "*", "error_status": 404}, RouteFault)


async def test_lifting_a_latency_rule_ends_the_delays_it_started(client: AsgiClient) -> None:
    """A 30 s delay went on to its end after the rule was lifted (a checkout then missed its
    saga deadline): a change of the rules ends the waits under way."""
    import asyncio
    import time

    app_faults = client.app.faults
    app_faults.set_routes([RouteFault(route="*", latency_ms=30_000)])
    began = time.monotonic()
    waiting = asyncio.ensure_future(client.request("POST", "/v1/items"))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    app_faults.set_routes([])
    reply = await asyncio.wait_for(waiting, 10)
    assert reply.status == 201 and time.monotonic() - began < 10
