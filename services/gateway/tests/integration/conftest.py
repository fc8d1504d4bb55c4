"""Real sockets: Starlette upstreams under uvicorn, the gateway on its own server in the test's
event loop, a real aiohttp client.

Discovery is the only fake: an in-memory directory with the interface of
``chassis.discovery.Discovery``, so a test decides which instances exist.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvloop
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chassis.discovery import Balancer, Instance, RoundRobin
from chassis.testing import TestIssuer, free_port, serve_app
from gateway.app import create_app
from gateway.filters import Filter
from gateway.serving import serving
from gateway.settings import GatewaySettings

ROUTES = """
[[routes]]
prefix = "/api/v1/catalog"
service = "catalog"
upstream_prefix = "/v1"
public = true
timeout = 5

[[routes]]
prefix = "/api/v1/slow"
service = "catalog"
upstream_prefix = "/v1/slow"
public = true
timeout = 0.3

[[routes]]
prefix = "/api/v1/orders"
service = "orders"
upstream_prefix = "/v1"

[[routes]]
prefix = "/api/v1/private"
service = "catalog"
upstream_prefix = "/v1"
timeout = 2

[[routes]]
prefix = "/api/v1/shop"
service = "catalog"
upstream_prefix = "/v1"
public_methods = ["GET", "HEAD"]

[[routes]]
prefix = "/api/v1/admin"
service = "catalog"
upstream_prefix = "/v1"
admin = true

[[routes]]
prefix = "/api/v1/login"
service = "catalog"
upstream_prefix = "/v1/echo"
public = true
rate_limit = "login"

[[routes]]
prefix = "/api/v1/signin"
service = "catalog"
upstream_prefix = "/v1/echo"
public = true
rate_limit = "login"
rate_limit_methods = ["POST"]

[[routes]]
prefix = "/api/v1/hidden"
service = "catalog"
upstream_prefix = "/v1"
exposed = false
"""

OPENAPI_DOC = {
    "openapi": "3.1.0",
    "info": {"title": "catalog", "version": "1.0.0"},
    "paths": {
        "/v1/products": {"get": {"operationId": "list_products"}},
        "/v1/products/{product_id}": {"get": {"operationId": "get_product"}},
        "/health/live": {"get": {"operationId": "live"}},
    },
}

BIG_HEAD = 1024 * 1024
BIG_TOTAL = 5 * 1024 * 1024
GZIPPED = gzip.compress(b'{"compressed": true}' * 100)


@dataclass(frozen=True)
class Samples:
    """What the upstream serves, for tests to compare against."""

    big_head: int = BIG_HEAD
    big_total: int = BIG_TOTAL
    gzipped: bytes = GZIPPED


class FakeDiscovery:
    """In-memory stand-in for ``chassis.discovery.Discovery`` with the same picking rules."""

    def __init__(self) -> None:
        self.registry_reachable = True
        self._instances: dict[str, list[Instance]] = {}
        self._ejected: dict[str, float] = {}
        self._balancers: dict[str, Balancer] = {}
        self.ejections: list[str] = []

    def add(self, service: str, instance_id: str, url: str) -> None:
        self._instances.setdefault(service, []).append(Instance(instance_id, service, url))

    def instances(self, service: str) -> tuple[Instance, ...]:
        found = tuple(self._instances.get(service, ()))
        now = time.monotonic()
        usable = tuple(i for i in found if self._ejected.get(i.instance_id, 0.0) <= now)
        return usable or found

    def pick(self, service: str, *, exclude: frozenset[str] = frozenset()) -> Instance | None:
        candidates = tuple(i for i in self.instances(service) if i.instance_id not in exclude)
        return self.balancer(service).pick(candidates)

    def balancer(self, service: str) -> Balancer:
        return self._balancers.setdefault(service, RoundRobin())

    def eject(self, instance_id: str, seconds: float) -> None:
        self.ejections.append(instance_id)
        self._ejected[instance_id] = time.monotonic() + seconds


@dataclass
class Signals:
    """Events shared between a test and its upstreams (all run in the test's event loop)."""

    release_big: asyncio.Event = field(default_factory=asyncio.Event)
    endless_stopped: asyncio.Event = field(default_factory=asyncio.Event)
    # /v1/flaky: calls per instance; the status an instance answers (200 when absent), for its
    # next ``fail_times`` calls only when that is set; seconds it waits first
    hits: Counter[str] = field(default_factory=Counter)
    faults: dict[str, int] = field(default_factory=dict)
    fail_times: dict[str, int] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    retry_after: set[str] = field(default_factory=set)  # instances whose failures say Retry-After
    # /v1/held: calls arrived, and the event that lets them answer
    held: list[str] = field(default_factory=list)
    release_held: asyncio.Event = field(default_factory=asyncio.Event)
    # /v1/until-gone: calls arrived, and how many saw their client (the gateway) hang up
    waiting: int = 0
    hung_up: int = 0
    gone: asyncio.Event = field(default_factory=asyncio.Event)


def upstream_app(name: str, signals: Signals) -> Starlette:
    """A small catalog-like service that reports what it received."""

    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse({
            "instance": name,
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "body": body.decode(),
        }, status_code=int(request.query_params.get("status", "200")), headers={
            # a service that kept the request's trace says so to the edge (chassis.trace_keep)
            **({"souk-trace-keep": "1"} if request.query_params.get("keep") else {}),
            # one whose own upstream failed says so too (chassis.http.errors)
            **({"proxy-status": f'{name}; error=destination_unavailable; next-hop="beans"'}
               if request.query_params.get("further_on") else {})})

    async def status(request: Request) -> Response:
        code = request.path_params["code"]
        return Response(b"" if code == 204 else f"status {code}", status_code=code)

    async def slow(request: Request) -> Response:
        signals.hits["slow"] += 1  # arrived: a test may wait for it
        await asyncio.sleep(float(request.query_params.get("seconds", "1")))
        # ?waited=1: a long poll's answer, which says it waited as asked (RFC 7240)
        return JSONResponse({"slow": True}, headers={"Preference-Applied": "wait=5"}
                            if request.query_params.get("waited") else None)

    async def big(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"a" * BIG_HEAD
            # the rest only once the client has the head: proves the gateway doesn't buffer
            await signals.release_big.wait()
            for _ in range((BIG_TOTAL - BIG_HEAD) // (256 * 1024)):
                yield b"b" * (256 * 1024)
        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def endless(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"z" * 1024
                    await asyncio.sleep(0.01)
            finally:
                signals.endless_stopped.set()
        return StreamingResponse(chunks(), media_type="text/plain")

    async def broken(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"k" * (128 * 1024)
            await asyncio.sleep(0.05)
            raise ConnectionAbortedError("the upstream died mid-body")
        return StreamingResponse(chunks(), media_type="text/plain")

    async def compressed(request: Request) -> Response:
        return Response(GZIPPED, media_type="application/json",
                        headers={"Content-Encoding": "gzip"})

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI_DOC)

    async def flaky(request: Request) -> Response:
        await request.body()
        signals.hits[name] += 1
        if name in signals.delays:
            await asyncio.sleep(signals.delays[name])
        code = signals.faults.get(name, 200)
        if name in signals.fail_times:
            if signals.fail_times[name] <= 0:
                code = 200
            signals.fail_times[name] -= 1
        return JSONResponse({"instance": name, "method": request.method}, status_code=code,
                            headers={"Retry-After": "1"}
                            if code >= 500 and name in signals.retry_after else None)

    async def held(request: Request) -> Response:
        signals.held.append(name)
        await signals.release_held.wait()
        return JSONResponse({"instance": name})

    async def until_gone(request: Request) -> Response:
        signals.waiting += 1
        while (await request.receive())["type"] != "http.disconnect":
            pass
        signals.hung_up += 1
        signals.gone.set()
        return Response(b"", status_code=204)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[
        Route("/v1/echo", echo, methods=methods),
        Route("/v1/echo/{rest:path}", echo, methods=methods),
        Route("/v1/status/{code:int}", status),
        Route("/v1/slow", slow),
        Route("/v1/big", big),
        Route("/v1/endless", endless),
        Route("/v1/broken", broken),
        Route("/v1/compressed", compressed),
        Route("/openapi.json", openapi),
        Route("/v1/flaky", flaky, methods=methods),
        Route("/v1/held", held),
        Route("/v1/until-gone", until_gone),
    ])


def pytest_asyncio_loop_factories(config: pytest.Config,
                                   item: pytest.Item) -> dict[str, Callable[[], Any]]:
    """Run on the loop the gateway runs on in production (``python -m gateway``)."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as exit_stack:
        yield exit_stack


@pytest.fixture
def samples() -> Samples:
    return Samples()


@pytest.fixture
def signals() -> Signals:
    return Signals()


@pytest.fixture
def discovery() -> FakeDiscovery:
    return FakeDiscovery()


@pytest.fixture
def routes_file(tmp_path: Path) -> Path:
    path = tmp_path / "routes.toml"
    path.write_text(ROUTES)
    return path


StartUpstream = Callable[[str], Awaitable[tuple[str, AsyncExitStack]]]


@pytest.fixture
def start_upstream(stack: AsyncExitStack, discovery: FakeDiscovery,
                   signals: Signals) -> StartUpstream:
    """Start a catalog instance and register it; returns (url, a stack that stops it)."""

    async def start(name: str) -> tuple[str, AsyncExitStack]:
        own = AsyncExitStack()
        url = await own.enter_async_context(serve_app(upstream_app(name, signals)))
        stack.push_async_callback(own.aclose)
        discovery.add("catalog", name, url)
        return url, own

    return start


async def _reset_every_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                               hits: Counter[str], name: str) -> None:
    await reader.readuntil(b"\r\n\r\n")
    hits[name] += 1
    writer.transport.abort()  # the request arrived; the connection dies before any answer


@pytest.fixture
def start_resetter(stack: AsyncExitStack, discovery: FakeDiscovery, signals: Signals
                   ) -> Callable[[str], Awaitable[str]]:
    """Register a catalog instance that reads each request and then resets the connection."""

    async def start(name: str) -> str:
        server = await asyncio.start_server(
            lambda r, w: _reset_every_request(r, w, signals.hits, name), "127.0.0.1", 0)
        stack.push_async_callback(server.wait_closed)
        stack.callback(server.close)
        port = server.sockets[0].getsockname()[1]
        discovery.add("catalog", name, f"http://127.0.0.1:{port}")
        return name

    return start


class Keys:
    """A JWKS endpoint for the gateway's verifier: the issuers it lists, and how often it was
    fetched."""

    def __init__(self, *issuers: TestIssuer) -> None:
        self.issuers = list(issuers)
        self.fetches = 0
        self.url = ""

    def app(self) -> Starlette:
        async def jwks(request: Request) -> Response:
            self.fetches += 1
            return JSONResponse({"keys": [i.jwk() for i in self.issuers]})
        return Starlette(routes=[Route("/v1/jwks", jwks)])


ISSUER = TestIssuer()


@pytest.fixture
def issuer() -> TestIssuer:
    return ISSUER


@pytest.fixture
async def keys(stack: AsyncExitStack, issuer: TestIssuer) -> Keys:
    served = Keys(issuer)
    served.url = await stack.enter_async_context(serve_app(served.app())) + "/v1/jwks"
    return served


StartGateway = Callable[..., Awaitable[str]]


@pytest.fixture
def start_gateway(stack: AsyncExitStack, discovery: FakeDiscovery,
                  routes_file: Path) -> StartGateway:
    """Start the gateway in front of the fake discovery; returns its URL."""

    async def start(filters: Sequence[Filter] = (), **overrides: Any) -> str:
        settings = GatewaySettings(routes_file=routes_file, port=free_port(),
                                   max_body_bytes=64 * 1024, log_level="warning",
                                   **overrides)
        app = create_app(settings, discovery=discovery, filters=filters)
        await stack.enter_async_context(serving(app, "127.0.0.1", settings.port))
        start.apps.append(app)  # type: ignore[attr-defined]
        return f"http://127.0.0.1:{settings.port}"

    start.apps = []  # type: ignore[attr-defined]
    return start


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session
