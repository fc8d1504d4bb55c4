"""Live configuration on the real platform (issue 11, item 1's must-show): `souk config set`
changes the gateway's rate limit and payments' decline rate in running processes (the effect
within 2 s, the same pids), `history` shows who/when/old/new, `rollback` restores the old
behaviour, a bad value is refused and the running value stays; with the broker killed the
services keep their configuration, and a service restarted then starts from its cache."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from .checkout_platform import Checkout, shared_shop
from .conftest import only_on, pid_alive

pytestmark = pytest.mark.system

engine = only_on("sqlite")  # live settings live in the broker's key-value store, not in a database

EFFECT_WITHIN = 2.0  # seconds: the bound from `souk config set` to the effect
PRODUCTS = "/api/v1/catalog/products?limit=1"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Checkout:
    return shared_shop(tmp_path_factory, engine)  # one platform per engine, see SHARED


def config(shop: Checkout, *args: str, check: bool = True) -> Any:
    proc = shop.souk("config", *args, "--json", check=check, timeout=60)
    return json.loads(proc.stdout) if proc.returncode == 0 else proc


async def until(what: str, check: Callable[[], Awaitable[bool]], within: float) -> float:
    """Seconds until ``check()`` holds; AssertionError past ``within``."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > within:
            raise AssertionError(f"{what}: not within {within} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def rate_limited(s: aiohttp.ClientSession, shop: Checkout, tries: int = 12) -> bool:
    """Whether anonymous reads from this address get a 429 within ``tries`` requests."""
    for _ in range(tries):
        async with s.get(shop.gateway + PRODUCTS) as r:
            if r.status == 429:
                assert r.headers["Retry-After"] and "rate-limited" in (await r.json())["type"]
                return True
            assert r.status == 200, await r.text()
    return False


async def a_sku(s: aiohttp.ClientSession, shop: Checkout) -> str:
    async with s.get(f"{shop.gateway}/api/v1/catalog/products?limit=3") as r:
        return str((await r.json())["items"][2]["sku"])


async def checkout_status(s: aiohttp.ClientSession, shop: Checkout, sku: str) -> str:
    """A new shopper's checkout of one ``sku``: CONFIRMED, or ``CANCELLED <reason>``."""
    shopper = await shop.shopper(s)
    await shop.fill(s, shopper, sku, 1)
    status, order = await shop.checkout(s, shopper, f"live-{time.time_ns()}")
    assert status == 201, order
    return " ".join(str(part) for part in (order["status"], order["reason"]) if part)


async def test_rate_limit_and_decline_rate_change_live_audited_and_rolled_back(
        shop: Checkout) -> None:
    pids = {name: shop.pid_of(name) for name in ("gateway-1", "payments-1")}
    async with aiohttp.ClientSession() as s:
        sku = await a_sku(s, shop)
        assert not await rate_limited(s, shop, 30)
        assert await checkout_status(s, shop, sku) == "CONFIRMED"

        # the gateway's rate limit: 429s for anonymous reads within 2 s
        config(shop, "set", "gateway.rate_limit", "5/minute", "--by", "alice")
        took = await until("429s after the new rate limit", lambda: rate_limited(s, shop),
                           EFFECT_WITHIN)
        print(f"rate limit applied within {took:.3f} s")
        shown = config(shop, "get", "gateway.rate_limit")
        assert shown["value"] == "5/minute" and shown["running"] == {"gateway-1": "5/minute"}
        config(shop, "rollback", "gateway.rate_limit", "--by", "alice")

        async def not_limited() -> bool:
            return not await rate_limited(s, shop, 30)

        await until("no 429 after the rollback", not_limited, EFFECT_WITHIN)

        # payments' decline rate: good cards declined, checkouts cancelled
        config(shop, "set", "payments.decline_rate", "1.0", "--by", "bob")
        changed = time.monotonic()
        while True:  # checkouts started within 2 s of the change: the last one is declined
            started = time.monotonic() - changed
            assert started <= EFFECT_WITHIN, "no checkout declined within 2 s"
            outcome = await checkout_status(s, shop, sku)
            if outcome != "CONFIRMED":
                break
        assert outcome == "CANCELLED payment-declined", outcome
        print(f"decline rate applied: a checkout started {started:.3f} s after the change "
              "was declined")

        # a bad value: refused by the CLI (exit 2, nothing written), the running value stays
        refused = config(shop, "set", "payments.decline_rate", "1.5", check=False)
        assert refused.returncode == 2 and "1.5" in refused.stderr, refused.stderr
        assert "maximum" in refused.stderr
        for bad in (("payments.no_such_setting", "1"), ("gateway.rate_limit", "lots"),
                    ("rate_limit", "5/minute")):  # not a platform-wide setting
            assert config(shop, "set", *bad, check=False).returncode == 2
        history = config(shop, "history", "payments.decline_rate")
        assert [(h["by"], h["old_unset"], h["value"]) for h in history] == [("bob", True, 1.0)]
        assert await checkout_status(s, shop, sku) == "CANCELLED payment-declined"

        config(shop, "rollback", "payments.decline_rate", "--by", "bob")
        assert await checkout_status(s, shop, sku) == "CONFIRMED"

        history = config(shop, "history", "gateway.rate_limit")
        assert [(h["action"], h["by"], h["old"], h["value"], h["unset"]) for h in history] == [
            ("set", "alice", None, "5/minute", False),
            ("rollback", "alice", "5/minute", None, True)]
        assert all(h["at"].endswith("Z") for h in history)
        rows = {r["setting"]: r for r in config(shop, "list", "payments")}
        assert rows["decline_rate"]["running"] == 0.0
        assert rows["decline_rate"]["source"] == "static"
        assert rows["log_level"]["running"] == "info"
        # and for people: tables and lines
        assert "alice" in shop.souk("config", "history", "gateway.rate_limit").stdout
        assert "decline_rate" in shop.souk("config", "list", "payments").stdout
        assert "not set" in shop.souk("config", "get", "payments.decline_rate").stdout
    assert {name: shop.pid_of(name) for name in pids} == pids  # no restart
    shop.verify()


async def test_a_value_the_service_refuses_is_logged_and_the_running_value_stays(
        shop: Checkout) -> None:
    """Validation in the service too: a bad value written past the CLI is not applied."""
    import nats

    from chassis.live import Record
    from chassis.live.store import open_bucket, write

    config(shop, "set", "payments.latency_ms", "1", "--by", "carol")
    state = json.loads((shop.platform.home / "run" / "state.json").read_text())
    nc = await nats.connect(state["nats_url"])
    try:
        kv = await open_bucket(nc.jetstream())
        await write(kv, "payments.latency_ms", Record(value=-5, by="mallory"))
    finally:
        await nc.close()

    async def refused() -> bool:
        rows = {r["setting"]: r for r in config(shop, "list", "payments")}
        return "refused" in rows["latency_ms"]["source"]

    await until("the service reports the refusal", refused, 10)
    rows = {r["setting"]: r for r in config(shop, "list", "payments")}
    assert rows["latency_ms"]["running"] == 1
    config(shop, "unset", "payments.latency_ms", "--by", "carol")


def test_a_key_no_service_has_is_refused_and_a_negative_value_is_a_value(shop: Checkout) -> None:
    """`get` and `history` of a key never set said "the static value applies" even when there
    was no such setting, and `unset` wrote an audited revision of it; a value such as -5 was
    taken for an unknown option."""
    def said(proc: Any) -> str:  # the message, however the terminal width folded it
        return " ".join(proc.stderr.split())

    for args in (("get", "orders.nosuch"), ("history", "orders.nosuch"), ("get", "ghost.x"),
                 ("unset", "orders.nosuch"), ("rollback", "orders.nosuch")):
        refused = config(shop, *args, check=False)
        assert refused.returncode == 2, refused.stdout
        assert "no live setting" in said(refused), refused.stderr
    assert "max_concurrency" in said(config(shop, "get", "orders.nosuch", check=False))
    negative = config(shop, "set", "orders.max_concurrency", "-5", check=False)
    assert negative.returncode == 2
    assert "-5 is less than the minimum of 0" in said(negative), negative.stderr
    never = config(shop, "get", "orders.max_concurrency")
    assert never["set"] is False and never["running"]  # a real key: the static value applies
    nothing = config(shop, "unset", "orders.max_concurrency", check=False)  # no audit of nothing
    assert nothing.returncode == 2 and "applies already" in said(nothing), nothing.stderr
    assert config(shop, "history", "orders.max_concurrency") == []


async def test_a_route_fault_switched_on_and_off_with_souk_config(shop: Checkout) -> None:
    """Fault flags are live settings: an error fault on catalog's product list reaches the
    shopper as a 5xx problem, a latency fault slows it, and unsetting it heals it, with no
    restart."""
    pid = shop.pid_of("catalog-1")
    route = "GET /v1/products"
    async with aiohttp.ClientSession() as s:
        async def failing() -> bool:
            async with s.get(shop.gateway + PRODUCTS) as r:
                return r.status >= 500 and r.content_type == "application/problem+json"

        async def healthy() -> bool:
            async with s.get(shop.gateway + PRODUCTS) as r:
                return r.status == 200

        assert await healthy()
        config(shop, "set", "catalog.fault_routes",
               json.dumps([{"route": route, "error_rate": 1.0, "error_status": 503}]))
        await until("5xx answers after the error fault", failing, 10)
        config(shop, "set", "catalog.fault_routes",
               json.dumps([{"route": route, "latency_ms": 400}]))
        await until("answers again once the fault is only a delay", healthy, 10)
        began = time.monotonic()
        assert await healthy()
        assert time.monotonic() - began >= 0.4  # the delay is served, not skipped
        refused = config(shop, "set", "catalog.fault_routes",
                         json.dumps([{"route": route, "error_status": 200}]), check=False)
        assert refused.returncode == 2  # an injected error is a 5xx
        config(shop, "unset", "catalog.fault_routes")
        await until("answers after the fault is unset", healthy, 10)
        history = config(shop, "history", "catalog.fault_routes")
        assert [h["action"] for h in history] == ["set", "set", "unset"]
    assert shop.pid_of("catalog-1") == pid


async def test_cors_origins_allowed_live_and_a_bad_one_refused(shop: Checkout) -> None:
    """The gateway's CORS origins are a live setting: a page's preflight is answered at the edge
    once its origin is allowed, and no longer once it is unset; a value that is not an origin
    is refused by the CLI."""
    origin = "https://shop.example"
    asked = {"Origin": origin, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}
    orders = f"{shop.gateway}/api/v1/orders"
    async with aiohttp.ClientSession() as s:
        async def allowed() -> bool:
            async with s.options(orders, headers=asked) as r:
                return r.status == 204 and r.headers.get("Access-Control-Allow-Origin") == origin

        async def not_allowed() -> bool:
            async with s.options(orders, headers=asked) as r:
                return "Access-Control-Allow-Origin" not in r.headers

        assert await not_allowed()  # off as shipped
        refused = config(shop, "set", "gateway.cors_origins", '["https://shop.example/"]',
                         check=False)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        config(shop, "set", "gateway.cors_origins", json.dumps([origin]), "--by", "erin")
        await until("a preflight answered at the edge", allowed, EFFECT_WITHIN + 3)
        async with s.get(shop.gateway + PRODUCTS, headers={"Origin": origin}) as r:
            assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == origin
        config(shop, "unset", "gateway.cors_origins", "--by", "erin")
        await until("CORS off again", not_allowed, EFFECT_WITHIN + 3)


async def test_with_the_broker_killed_services_keep_their_configuration(shop: Checkout) -> None:
    first = config(shop, "set", "gateway.rate_limit", "5/minute", "--by", "dave")
    config(shop, "set", "gateway.rate_limit", "100000/minute", "--by", "dave")
    restored = config(shop, "rollback", "gateway.rate_limit", "--to", str(first["revision"]),
                      "--by", "dave")  # 5/minute again, as a new revision
    assert (restored["value"], restored["old"], restored["rollback_to"]) == (
        "5/minute", "100000/minute", first["revision"])
    async with aiohttp.ClientSession() as s:
        await until("429s after the new rate limit", lambda: rate_limited(s, shop), 10)
        broker = shop.pid_of("nats-1")
        shop.souk("hold", "nats-1")
        os.kill(broker, signal.SIGKILL)

        async def nats_gone() -> bool:
            return not pid_alive(broker)

        await until("nats-1 dead", nats_gone, 10)
        try:
            gateway_log = shop.platform.home / "logs" / "gateway-1.log"

            async def gateway_saw_it() -> bool:
                return '"nats disconnected"' in gateway_log.read_text()

            await until("the gateway has seen the broker go", gateway_saw_it, 10)
            assert await rate_limited(s, shop)  # the running value stays
            assert shop.souk("config", "get", "gateway.rate_limit", check=False).returncode == 1
            # a gateway restarted while the store is unreachable starts from its cache
            gateway = shop.pid_of("gateway-1")
            os.kill(gateway, signal.SIGKILL)
            shop.platform.wait_ready("gateway-1", other_than_pid=gateway, timeout=60)
            assert await rate_limited(s, shop)
        finally:
            shop.souk("release", "nats-1")
            shop.platform.wait_ready("nats-1", other_than_pid=broker, timeout=60)
        config(shop, "unset", "gateway.rate_limit", "--by", "dave")

        async def not_limited() -> bool:
            return not await rate_limited(s, shop, 30)

        await until("the static rate limit back once the broker is", not_limited, 30)
