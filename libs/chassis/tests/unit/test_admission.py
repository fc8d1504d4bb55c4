"""Admission control: a bound on requests in flight, shed by priority, never queued; requests
whose caller's deadline passed are refused before any work."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from chassis import ServiceSettings, create_service_app
from chassis.http import current_deadline
from chassis.testing.asgi import AsgiClient
from chassis.web import App, Priority, Request, Router
from chassis.web.admission import Admission

pytestmark = pytest.mark.unit

router = Router(tags=["demo"])
worked: list[str] = []  # the handlers that ran
gates: list[asyncio.Event] = []  # the current test's: the handlers wait on it


async def _work(name: str) -> dict[str, str]:
    worked.append(name)
    await gates[-1].wait()
    return {"did": name}


@router.get("/v1/browse")
async def browse() -> dict[str, str]:
    return await _work("browse")


@router.post("/v1/orders")
async def place() -> dict[str, str]:
    return await _work("place")


@router.post("/v1/internal/steps", priority=Priority.INTERNAL)
async def step() -> dict[str, str]:
    return await _work("step")


@router.post("/v1/polls")
async def poll(request: Request) -> dict[str, str]:
    """A long poll: its work done, it only waits."""
    request.waiting()
    request.waiting()  # once counts
    return await _work("poll")


@router.get("/v1/deadline")
async def deadline() -> dict[str, float | None]:
    return {"deadline": current_deadline.get()}


def make_app(limit: int) -> App:
    return create_service_app(ServiceSettings(service_name="demo", port=1, max_concurrency=limit),
                              use_broker=False, routers=[router])


@pytest.fixture
async def client() -> AsyncIterator[AsgiClient]:
    gates.append(asyncio.Event())
    worked.clear()
    async with AsgiClient(make_app(10)) as c:
        yield c
    gates[-1].set()


def open_gate() -> None:
    gates[-1].set()


async def hold(client: AsgiClient, method: str, path: str, n: int) -> list[asyncio.Task]:  # type: ignore[type-arg]
    """``n`` requests left in flight (their handlers wait on the gate)."""
    before = len(worked)
    tasks = [asyncio.create_task(client.request(method, path)) for _ in range(n)]
    for _ in range(100_000):  # until every one has reached its handler (bounded)
        if len(worked) >= before + n:
            return tasks
        if any(t.done() for t in tasks):  # answered without reaching it: refused
            break
        await asyncio.sleep(0)
    answers = [t.result().status for t in tasks if t.done()]
    raise AssertionError(f"{len(worked) - before} of {n} reached the handler; answered: {answers}")


def test_each_priority_has_its_share_of_the_limit() -> None:
    admission = Admission(10)
    assert [admission.enter(Priority.READ) for _ in range(6)] == [True] * 5 + [False]
    assert [admission.enter(Priority.ORDER) for _ in range(4)] == [True] * 3 + [False]
    assert [admission.enter(Priority.INTERNAL) for _ in range(3)] == [True] * 2 + [False]
    assert admission.enter(Priority.EXEMPT) and admission.shed == 3
    admission.leave()
    admission.leave()
    assert admission.enter(Priority.INTERNAL) and not admission.enter(Priority.ORDER)


def test_a_limit_of_zero_admits_everything_and_a_negative_one_is_refused() -> None:
    admission = Admission(0)
    assert all(admission.enter(Priority.READ) for _ in range(10_000))
    with pytest.raises(ValueError):
        admission.set_limit(-1)


async def test_past_the_limit_a_request_gets_503_with_retry_after_and_no_work(
        client: AsgiClient) -> None:
    held = await hold(client, "POST", "/v1/internal/steps", 10)
    reply = await client.request("POST", "/v1/internal/steps")
    assert reply.status == 503 and reply.headers["content-type"] == "application/problem+json"
    assert reply.body["type"].endswith("overloaded") and reply.headers["retry-after"] == "1"
    assert worked == ["step"] * 10  # the refused one never reached its handler
    open_gate()
    assert all(r.status == 200 for r in await asyncio.gather(*held))
    assert (await client.request("POST", "/v1/internal/steps")).status == 200


async def test_a_request_that_only_waits_is_no_longer_counted(client: AsgiClient) -> None:
    """Eighty long polls of eight users refused every other user's reads and checkouts for as
    long as they waited: a wait held an admission slot while doing no work."""
    held = await hold(client, "POST", "/v1/polls", 30)  # three times the limit
    held += await hold(client, "GET", "/v1/browse", 5)  # reads still have their whole share
    assert (await client.request("GET", "/v1/browse")).status == 503
    held += await hold(client, "POST", "/v1/orders", 3)  # and orders theirs
    assert (await client.request("POST", "/v1/orders")).status == 503
    open_gate()
    assert [r.status for r in await asyncio.gather(*held)] == [200] * 38
    assert client.app.admission.in_flight == 0  # each left once, whichever way


async def test_reads_are_shed_first_then_orders_and_internal_steps_last(
        client: AsgiClient) -> None:
    held = await hold(client, "GET", "/v1/browse", 5)  # half of 10: reads stop here
    assert (await client.request("GET", "/v1/browse")).status == 503
    held += await hold(client, "POST", "/v1/orders", 3)  # 8 of 10: orders stop here
    assert (await client.request("POST", "/v1/orders")).status == 503
    held += await hold(client, "POST", "/v1/internal/steps", 2)
    assert (await client.request("POST", "/v1/internal/steps")).status == 503
    assert sorted(set(worked)) == ["browse", "place", "step"] and len(worked) == 10
    open_gate()
    assert [r.status for r in await asyncio.gather(*held)] == [200] * 10


async def test_probes_metrics_and_the_document_are_never_shed(client: AsgiClient) -> None:
    held = await hold(client, "POST", "/v1/internal/steps", 10)
    for path in ("/health/live", "/health/ready", "/metrics", "/openapi.json"):
        assert (await client.request("GET", path)).status == 200, path
    open_gate()
    await asyncio.gather(*held)


async def test_the_limit_changes_at_run_time(client: AsgiClient) -> None:
    client.app.set_max_concurrency(2)
    held = await hold(client, "POST", "/v1/internal/steps", 2)
    assert (await client.request("POST", "/v1/internal/steps")).status == 503
    client.app.set_max_concurrency(0)  # off
    held += await hold(client, "GET", "/v1/browse", 20)
    open_gate()
    assert [r.status for r in await asyncio.gather(*held)] == [200] * 22


async def test_a_request_whose_deadline_passed_is_504_and_not_worked_on(
        client: AsgiClient) -> None:
    open_gate()
    past = str(int((time.time() - 1) * 1000))
    reply = await client.request("POST", "/v1/orders", headers={"X-Souk-Deadline": past})
    assert reply.status == 504 and reply.body["type"].endswith("deadline-exceeded")
    assert worked == []
    future = str(int((time.time() + 30) * 1000))
    assert (await client.request("POST", "/v1/orders",
                                 headers={"X-Souk-Deadline": future})).status == 200
    # a malformed deadline is no deadline
    assert (await client.request("POST", "/v1/orders",
                                 headers={"X-Souk-Deadline": "soon"})).status == 200
    assert (await client.request("GET", "/health/live",
                                 headers={"X-Souk-Deadline": past})).status == 200


async def test_the_document_declares_503_and_504_except_on_probes(client: AsgiClient) -> None:
    doc = (await client.request("GET", "/openapi.json")).body
    for path, method in (("/v1/browse", "get"), ("/v1/orders", "post"),
                         ("/v1/internal/steps", "post")):
        responses = doc["paths"][path][method]["responses"]
        assert "overloaded" in responses["503"]["description"]
        assert "deadline-exceeded" in responses["504"]["description"]
    assert "503" not in doc["paths"]["/health/live"]["get"]["responses"]
    assert "504" not in doc["paths"]["/metrics"]["get"]["responses"]


async def test_the_handler_and_its_calls_see_the_requests_deadline(client: AsgiClient) -> None:
    soon = int((time.time() + 30) * 1000)
    reply = await client.request("GET", "/v1/deadline", headers={"X-Souk-Deadline": str(soon)})
    assert reply.body == {"deadline": soon / 1000}
    assert (await client.request("GET", "/v1/deadline")).body == {"deadline": None}
