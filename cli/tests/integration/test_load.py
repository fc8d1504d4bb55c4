"""``run_load`` against a stand-in gateway and identity (one aiohttp server)."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from souk.load import LoadError, LoadProgress, Retry, run_load

pytestmark = pytest.mark.integration


class Shop:
    def __init__(self, skus: int = 3) -> None:
        self.skus = [f"KIT-{n}" for n in range(skus)]
        self.users: dict[str, str] = {}
        self.carts: dict[str, dict[str, int]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.polls: dict[str, int] = {}
        self.keys: dict[str, str] = {}  # idempotency key -> order id
        self.fail_every = 0  # answer the first POST of every n-th key with a 503
        self.down = False  # answer every order POST with a 503
        self.retry_after = ""  # the Retry-After of those 503s

    def app(self) -> web.Application:
        routes = web.RouteTableDef()

        def user(request: web.Request) -> str:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in self.users.values():
                raise web.HTTPUnauthorized
            return token

        @routes.post("/v1/signup")
        async def signup(request: web.Request) -> web.Response:
            body = await request.json()
            assert body["email"].startswith("load-") and body["email"].endswith("@souk.local")
            assert len(body["password"]) >= 16
            self.users[body["email"]] = f"token-{len(self.users)}"
            return web.json_response({"id": body["email"]}, status=201)

        @routes.post("/v1/login")
        async def login(request: web.Request) -> web.Response:
            body = await request.json()
            return web.json_response({"access_token": self.users[body["email"]]})

        @routes.get("/api/v1/catalog/products")
        async def products(request: web.Request) -> web.Response:
            assert request.query["limit"] == "100"
            return web.json_response({"items": [{"sku": s} for s in self.skus],
                                      "next_cursor": None})

        @routes.put("/api/v1/cart")
        async def replace(request: web.Request) -> web.Response:
            items = (await request.json())["items"]
            assert all(item["quantity"] in (1, 2) for item in items)
            self.carts[user(request)] = {item["sku"]: item["quantity"] for item in items}
            return web.json_response({"items": []})

        @routes.post("/api/v1/orders")
        async def place(request: web.Request) -> web.Response:
            token = user(request)
            assert request.headers["Prefer"] == "wait=30"
            key = request.headers["Idempotency-Key"]
            if self.keys.get(key):  # a repeat: the first request's order
                return web.json_response({"id": self.keys[key], "status": "PENDING"})
            first = key not in self.keys
            self.keys[key] = ""
            if self.down or (first and self.fail_every and len(self.keys) % self.fail_every == 0):
                headers = {"Retry-After": self.retry_after} if self.retry_after else None
                return web.json_response({"title": "Service Unavailable"}, status=503,
                                         headers=headers)
            card = (await request.json())["card_token"]
            order_id = self.keys[key] = f"o{len(self.orders)}"
            self.orders[order_id] = {
                "id": order_id, "lines": dict(self.carts.pop(token)),
                "final": "CANCELLED" if card == "tok_decline" else "CONFIRMED"}
            self.polls[order_id] = 0
            return web.json_response({"id": order_id, "status": "PENDING"}, status=202)

        @routes.get("/api/v1/orders/{id}")
        async def get(request: web.Request) -> web.Response:
            user(request)
            order = self.orders[request.match_info["id"]]
            self.polls[order["id"]] += 1
            status = order["final"] if self.polls[order["id"]] >= 2 else "STOCK_RESERVED"
            return web.json_response({"id": order["id"], "status": status})

        application = web.Application()
        application.add_routes(routes)
        return application


@pytest.fixture
async def shop() -> AsyncIterator[tuple[Shop, str]]:
    fake = Shop()
    server = TestServer(fake.app())
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


async def test_runs_exactly_the_asked_checkouts_and_counts_outcomes(
        shop: tuple[Shop, str]) -> None:
    fake, url = shop
    seen: list[int] = []

    def progress(state: LoadProgress) -> None:
        seen.append(state.done)

    result = await run_load(url, url, checkouts=20, concurrency=4, decline_rate=0.5, lines=2,
                            progress=progress)

    assert len(fake.users) == 4
    assert len(fake.orders) == 20 == result.checkouts
    assert result.confirmed + result.cancelled == 20 and result.failed == 0
    assert result.cancelled == sum(o["final"] == "CANCELLED" for o in fake.orders.values())
    assert all(len(o["lines"]) == 2 for o in fake.orders.values())
    assert seen == list(range(1, 21))
    assert len(result.latencies_ms) == 20
    assert 0 < result.latency(50) <= result.latency(99)
    assert result.per_second > 0


async def test_no_more_users_sign_up_than_there_are_checkouts(shop: tuple[Shop, str]) -> None:
    """A user beyond the checkouts never checks out, and each costs identity a password hash:
    `souk load --checkouts 3 --concurrency 500` signed up 500."""
    fake, url = shop

    result = await run_load(url, url, checkouts=3, concurrency=50, decline_rate=0.0)

    assert len(fake.users) == 3
    assert result.checkouts == 3 and result.failed == 0


async def test_once_enough_no_checkout_is_started_and_those_under_way_finish(
        shop: tuple[Shop, str]) -> None:
    fake, url = shop
    started: list[int] = []

    def progress(state: LoadProgress) -> None:
        started.append(state.started)

    result = await run_load(url, url, checkouts=1000, concurrency=4, decline_rate=0.0,
                            progress=progress, enough=lambda: bool(started) and started[-1] >= 10)

    assert 10 <= result.checkouts < 10 + 4  # at most one more in flight per user
    assert len(fake.orders) == result.checkouts == result.confirmed and result.failed == 0


async def test_every_card_is_declined_at_rate_one(shop: tuple[Shop, str]) -> None:
    _, url = shop

    result = await run_load(url, url, checkouts=5, concurrency=2, decline_rate=1.0)

    assert (result.confirmed, result.cancelled) == (0, 5)


async def test_a_503_is_retried_with_the_same_key_and_counted_as_retried(
        shop: tuple[Shop, str]) -> None:
    fake, url = shop
    fake.fail_every = 3

    result = await run_load(url, url, checkouts=9, concurrency=1, decline_rate=0.0,
                            retry=Retry(base=0.001))

    assert (result.confirmed, result.failed, result.retried, result.retries) == (9, 0, 3, 3)
    assert len(fake.orders) == 9  # a repeated key placed no second order
    assert result.as_json()["retried"] == 3


async def test_a_retry_waits_as_long_as_the_answer_says(shop: tuple[Shop, str]) -> None:
    fake, url = shop
    fake.fail_every, fake.retry_after = 1, "0.4"

    result = await run_load(url, url, checkouts=1, concurrency=1, decline_rate=0.0,
                            retry=Retry(base=0.001))

    assert (result.confirmed, result.retried) == (1, 1)
    assert result.latencies_ms[0] >= 400


async def test_a_checkout_failing_past_its_retries_is_failed_and_its_error_kept(
        shop: tuple[Shop, str]) -> None:
    fake, url = shop
    fake.down = True

    result = await run_load(url, url, checkouts=2, concurrency=1, decline_rate=0.0,
                            retry=Retry(attempts=3, base=0.001))

    assert (result.confirmed, result.failed, result.retries) == (0, 2, 4)
    assert result.errors[0].startswith("POST /orders: 503")
    assert not result.latencies_ms


async def test_an_empty_catalog_stops_the_run_before_it_starts(shop: tuple[Shop, str]) -> None:
    fake, url = shop
    fake.skus = []

    with pytest.raises(LoadError, match="no products"):
        await run_load(url, url, checkouts=1, concurrency=1, decline_rate=0.0)
