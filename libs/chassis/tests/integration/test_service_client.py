"""The service client over real sockets: uvicorn upstreams, a real aiohttp session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chassis.http import (
    AiohttpTransport,
    CircuitBreaker,
    CircuitOpen,
    ClientPolicy,
    ServiceClient,
    StaticDirectory,
    UpstreamError,
    UpstreamTimeout,
)
from chassis.testing import free_port, serve_app

pytestmark = pytest.mark.integration


class Tokens:
    async def authorization(self) -> dict[str, str]:
        return {"Authorization": "Bearer svc"}


def upstream(hits: list[str], failing: dict[str, bool]) -> Starlette:
    async def echo(request: Request) -> Response:
        hits.append(request.url.path)
        if failing.get("on"):
            return JSONResponse({"type": "boom", "status": 503}, status_code=503)
        return JSONResponse({"headers": dict(request.headers), "body": (await request.json())})

    async def slow(request: Request) -> Response:
        await asyncio.sleep(1.0)
        return JSONResponse({})

    async def missing(request: Request) -> Response:
        return JSONResponse({"type": "x/not-found", "status": 404, "detail": "nope"},
                            status_code=404, media_type="application/problem+json")

    return Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/slow", slow),
                             Route("/missing", missing)])


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def test_calls_a_live_instance_and_skips_a_dead_one(session: aiohttp.ClientSession) -> None:
    hits: list[str] = []
    async with serve_app(upstream(hits, {})) as url:
        dead = f"http://127.0.0.1:{free_port()}"
        client = ServiceClient(AiohttpTransport(session), StaticDirectory({"up": [dead, url]}),
                               service="me", tokens=Tokens())
        for _ in range(2):  # round robin starts on the dead one once
            resp = await client.post("up", "/echo", json={"n": 1})
            doc = resp.json()
            assert doc["body"] == {"n": 1}
            assert doc["headers"]["authorization"] == "Bearer svc"
            assert doc["headers"]["x-souk-deadline"].isdigit()


async def test_a_fixed_name_that_refused_is_tried_again_a_moment_later(
        session: aiohttp.ClientSession) -> None:
    """A Kubernetes Service balances each new connection over its ready pods: one refused by a
    pod shutting down says nothing of the next. The name is the only instance the client has,
    so it is tried again after a short pause (nothing was sent: a POST too), within the call's
    attempts; before, the call failed at once ('every instance tried refused the connection')."""
    from contextlib import AsyncExitStack

    hits: list[str] = []
    port = free_port()
    pauses: list[float] = []
    async with AsyncExitStack() as stack:
        async def sleep(seconds: float) -> None:  # the pause: the next pod is there by then
            pauses.append(seconds)
            if len(pauses) == 1:
                await stack.enter_async_context(serve_app(upstream(hits, {}), port=port))

        client = ServiceClient(AiohttpTransport(session),
                               StaticDirectory({"up": f"http://127.0.0.1:{port}"}),
                               service="me", tokens=Tokens(), sleep=sleep, rand=lambda: 1.0)
        resp = await client.post("up", "/echo", json={"n": 2})

        assert resp.json()["body"] == {"n": 2} and hits == ["/echo"]
        assert pauses == [0.05]  # backoff_base, the first retry's cap


async def test_a_slow_upstream_times_out_per_attempt(session: aiohttp.ClientSession) -> None:
    async with serve_app(upstream([], {})) as url:
        client = ServiceClient(AiohttpTransport(session), StaticDirectory({"up": url}),
                               service="me", policy=ClientPolicy(attempt_timeout=0.1, deadline=0.25,
                                                                 backoff_base=0.0))
        started = asyncio.get_running_loop().time()
        with pytest.raises(UpstreamTimeout):
            await client.get("up", "/slow")
        assert asyncio.get_running_loop().time() - started < 0.6


async def test_a_problem_answer_is_an_upstream_error(session: aiohttp.ClientSession) -> None:
    async with serve_app(upstream([], {})) as url:
        client = ServiceClient(AiohttpTransport(session), StaticDirectory({"up": url}),
                               service="me")
        with pytest.raises(UpstreamError) as caught:
            await client.get("up", "/missing")
        assert (caught.value.status, caught.value.problem["detail"]) == (404, "nope")


async def test_the_breaker_opens_on_a_failing_upstream(session: aiohttp.ClientSession) -> None:
    hits: list[str] = []
    async with serve_app(upstream(hits, {"on": True})) as url:
        client = ServiceClient(
            AiohttpTransport(session), StaticDirectory({"up": url}), service="me",
            policy=ClientPolicy(max_retries=0,
                                breaker=lambda: CircuitBreaker(window=3, min_calls=3)))
        for _ in range(3):
            with pytest.raises(UpstreamError):
                await client.post("up", "/echo", json={})
        with pytest.raises(CircuitOpen):
            await client.post("up", "/echo", json={})
        assert len(hits) == 3


async def test_an_answer_that_waited_as_asked_is_no_slow_call(
        session: aiohttp.ClientSession) -> None:
    """The front end's checkout without JavaScript waits for its order (`Prefer: wait`): such
    answers counted as slow calls and opened the breaker on orders."""

    async def waited(request: Request) -> Response:
        await asyncio.sleep(0.15)
        return JSONResponse({}, headers={"Preference-Applied": "wait=5"}
                            if request.query_params.get("waited") else None)

    app = Starlette(routes=[Route("/wait", waited)])
    async with serve_app(app) as url:
        client = ServiceClient(
            AiohttpTransport(session), StaticDirectory({"up": url}), service="me",
            policy=ClientPolicy(max_retries=0, breaker=lambda: CircuitBreaker(
                window=2, min_calls=2, slow_seconds=0.1, slow_ratio=0.5)))
        for _ in range(4):  # each over slow_seconds, as asked: the breaker stays closed
            await client.get("up", "/wait?waited=1")
        await client.get("up", "/wait")  # slow without being asked: one of two, and it opens
        with pytest.raises(CircuitOpen):
            await client.get("up", "/wait?waited=1")


def failing(hits: list[str], *, retry_after: bool) -> Starlette:
    """An upstream that fails every call with 503 (shedding load when it says Retry-After)."""

    async def fail(request: Request) -> Response:
        hits.append(request.url.path)
        return JSONResponse({"type": "x/unavailable", "status": 503}, status_code=503,
                            headers={"Retry-After": "1"} if retry_after else None)

    return Starlette(routes=[Route("/fail", fail)])


# the budget alone (a breaker that never has enough calls to open), and the shipped defaults
_LENIENT = {"breaker": lambda: CircuitBreaker(window=1000, min_calls=1000)}


@pytest.mark.parametrize("policy", [_LENIENT, {}], ids=["budget-alone", "shipped-defaults"])
async def test_retries_cannot_amplify_a_storm_on_an_upstream_failing_every_call(
        session: aiohttp.ClientSession, policy: dict[str, object]) -> None:
    hits: list[str] = []
    async with serve_app(failing(hits, retry_after=False)) as url:
        client = ServiceClient(AiohttpTransport(session), StaticDirectory({"up": url}),
                               service="me", policy=ClientPolicy(backoff_base=0.0, **policy))  # type: ignore[arg-type]
        calls, in_flight = 300, asyncio.Semaphore(20)  # within the bulkhead: every call is made

        async def one() -> BaseException | None:
            async with in_flight:
                try:
                    await client.get("up", "/fail")
                except (UpstreamError, CircuitOpen) as exc:
                    return exc
            return None

        outcomes = await asyncio.gather(*(one() for _ in range(calls)))
    assert all(o is not None for o in outcomes)
    assert len(hits) <= 1.2 * calls
    if policy:  # the budget alone: retries were made, within it
        assert len(hits) > calls


async def test_a_503_with_retry_after_is_not_retried_nor_a_failure(
        session: aiohttp.ClientSession) -> None:
    hits: list[str] = []
    async with serve_app(failing(hits, retry_after=True)) as url:
        client = ServiceClient(
            AiohttpTransport(session), StaticDirectory({"up": url}), service="me",
            policy=ClientPolicy(backoff_base=0.0,
                                breaker=lambda: CircuitBreaker(window=3, min_calls=3)))
        for _ in range(5):  # an upstream shedding load is busy, not broken: no open breaker
            with pytest.raises(UpstreamError) as caught:
                await client.get("up", "/fail")
            assert caught.value.status == 503
    assert len(hits) == 5
