"""The real cart app under uvicorn on SQLite and PostgreSQL, a real nats-server, and a stand-in
catalog serving the internal price lookup over real sockets (services never import each other).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cart.app import create_app
from cart.settings import CartSettings
from chassis.testing import TestIssuer, nats_server, serve_app, temporary_database

ISSUER = TestIssuer()
CART_SERVICE_TOKEN = ISSUER.service_token("cart")


@dataclass
class StubCatalog:
    """Prices by SKU; ``down`` makes every lookup a 503; ``calls`` counts lookups received."""

    prices: dict[str, int] = field(default_factory=lambda: {
        "KIT-0001": 1250, "KIT-0002": 399, "BOOK-0001": 2000})
    down: bool = False
    calls: int = 0
    url: str = ""

    def app(self) -> Starlette:
        async def look_up(request: Request) -> Response:
            self.calls += 1
            if request.headers.get("authorization") != f"Bearer {CART_SERVICE_TOKEN}":
                return JSONResponse({"status": 401}, status_code=401)
            if self.down:
                return JSONResponse({"type": "down", "status": 503}, status_code=503)
            skus = (await request.json())["skus"]
            return JSONResponse({
                "prices": {s: {"amount_minor": self.prices[s], "currency": "EUR"}
                           for s in skus if s in self.prices},
                "missing": [s for s in skus if s not in self.prices]})

        return Starlette(routes=[Route("/v1/internal/prices", look_up, methods=["POST"])])


class Tokens:
    async def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {CART_SERVICE_TOKEN}"}


@dataclass
class RunningCart:
    url: str
    app: FastAPI
    http: aiohttp.ClientSession

    async def call(self, method: str, path: str, *, user: str | None = "alice",
                   token: str | None = None, body: Any = None) -> tuple[int, Any]:
        token = token or (ISSUER.mint(sub=user) if user else None)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, self.url + path, json=body, headers=headers) as resp:
            doc = None if resp.status == 204 else await resp.json(content_type=None)
            return resp.status, doc

    async def put(self, sku: str, quantity: Any, user: str = "alice") -> tuple[int, Any]:
        return await self.call("PUT", f"/v1/cart/items/{sku}", user=user,
                               body={"quantity": quantity})

    async def metrics(self) -> str:
        async with self.http.get(self.url + "/metrics") as resp:
            return await resp.text()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with temporary_database(request.param, tmp_path, "cart") as url:
        yield url


@pytest.fixture
def nats_url() -> AsyncIterator[str]:
    with nats_server() as url:
        yield url


@pytest.fixture
async def catalog() -> AsyncIterator[StubCatalog]:
    stub = StubCatalog()
    async with serve_app(stub.app()) as url:
        stub.url = url
        yield stub


StartCart = Callable[..., Awaitable[RunningCart]]


@pytest.fixture
async def start_cart(database_url: str, nats_url: str,
                     catalog: StubCatalog) -> AsyncIterator[StartCart]:
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())

        async def start(**overrides: Any) -> RunningCart:
            options: dict[str, Any] = {
                "database_url": database_url, "nats_url": nats_url, "registry_url": "",
                "catalog_url": catalog.url, "log_level": "warning"} | overrides
            app = create_app(CartSettings(**options))

            runtime = app.state.runtime
            runtime.verifier = ISSUER.verifier()
            runtime.service_tokens = Tokens()
            url = await stack.enter_async_context(serve_app(app))
            return RunningCart(url, app, http)

        yield start


@pytest.fixture
async def cart(start_cart: StartCart) -> RunningCart:
    return await start_cart()
