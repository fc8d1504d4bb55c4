"""The cart under test: its real app on uvicorn, a real nats-server and real SQLite/PostgreSQL (the
chassis's fixtures), calling a stand-in catalog over real sockets through the chassis's service
client (services never import each other; one test runs the real catalog)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest

from cart.app import create_app
from cart.settings import CartSettings
from chassis.problems import Problem
from chassis.settings import ServiceSettings
from chassis.testing import TestIssuer, serve_app
from chassis.testing.service import Reply, RunningService, start_service
from chassis.web import App, Router, services


class Tokens:
    """The cart's identity: a service token from the test issuer (identity is not running)."""

    def __init__(self, issuer: TestIssuer) -> None:
        self.token = issuer.service_token("cart")

    async def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Skus(msgspec.Struct):
    skus: list[str]


class Money(msgspec.Struct):
    amount_minor: int
    currency: str


class Prices(msgspec.Struct):
    prices: dict[str, Money]
    missing: list[str]
    names: dict[str, str]


@dataclass
class StubCatalog:
    """The catalog's internal price lookup, verifying the cart's service token: prices by SKU;
    ``down`` makes every lookup a 503; ``calls`` counts the lookups that got through."""

    prices: dict[str, int] = field(default_factory=lambda: {
        "KIT-0001": 1250, "KIT-0002": 399, "BOOK-0001": 2000})
    currencies: dict[str, str] = field(default_factory=dict)  # EUR when not here
    down: bool = False
    calls: int = 0
    url: str = ""

    def app(self, issuer: TestIssuer) -> App:
        router = Router()

        @router.post("/v1/internal/prices", auth=services({"cart"}),
                     problems={503: "down on purpose"})
        async def look_up(body: Skus) -> Prices:
            self.calls += 1
            if self.down:
                raise Problem(503, "down", "the stub catalog is down")
            found = {s: self.prices[s] for s in body.skus if s in self.prices}
            return Prices({s: Money(p, self.currencies.get(s, "EUR")) for s, p in found.items()},
                          [s for s in body.skus if s not in found],
                          {s: f"Product {s}" for s in found})

        app = App(title="stub catalog", settings=ServiceSettings(service_name="catalog"))
        app.include(router)
        app.verifier = issuer.verifier()
        return app


class Cart(RunningService):
    """The running cart; calls are alice's unless told otherwise."""

    async def call(self, method: str, path: str, body: Any = None, *,
                   user: str | None = "alice", **options: Any) -> Reply:
        return await super().call(method, path, body, user=user, **options)

    async def put(self, sku: str, quantity: Any, user: str = "alice") -> Reply:
        return await self.call("PUT", f"/v1/cart/items/{sku}", {"quantity": quantity}, user=user)

    async def get(self, user: str = "alice") -> Reply:
        return await self.call("GET", "/v1/cart", user=user)

    async def metrics(self) -> str:
        return str((await self.call("GET", "/metrics", user=None)).body)


StartCart = Callable[..., Awaitable[Cart]]


@pytest.fixture
async def catalog(issuer: TestIssuer) -> AsyncIterator[StubCatalog]:
    stub = StubCatalog()
    async with serve_app(stub.app(issuer)) as url:
        stub.url = url
        yield stub


def cart_settings(**values: Any) -> CartSettings:
    return CartSettings(**{"registry_url": "", "log_level": "warning", **values})


@pytest.fixture
async def start_cart(database_url: str, nats_url: str, catalog: StubCatalog,
                     issuer: TestIssuer) -> AsyncIterator[StartCart]:
    """``await start_cart(price_fresh_seconds=60)``: the cart on the test's database and broker,
    priced by the stub catalog, with settings changed; stopped at the end of the test."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> Cart:
            app = create_app(cart_settings(**{"database_url": database_url, "nats_url": nats_url,
                                              "catalog_url": catalog.url, **overrides}))
            app.runtime.service_tokens = Tokens(issuer)  # type: ignore[attr-defined]
            running = await stack.enter_async_context(start_service(app, issuer))
            return Cart(running.app, running.url, running.http, running.issuer)

        yield start


@pytest.fixture
async def cart(start_cart: StartCart) -> Cart:
    return await start_cart()
