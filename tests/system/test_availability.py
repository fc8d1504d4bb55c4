"""Availability from the shopper's side: a minute without the broker, and kills during a load."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import aiohttp
import pytest

from .checkout_platform import Checkout, Shopper, shared_shop
from .conftest import only_on, pid_alive

pytestmark = pytest.mark.system

engine = only_on("sqlite")  # the CI budget; on PostgreSQL see tests/system/conftest.py

OUTAGE = 60.0  # what issue 10 asks for


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Checkout:
    return shared_shop(tmp_path_factory, engine)  # one platform per engine, see SHARED


async def wait_until(what: str, check, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.2)


async def test_a_minute_without_nats_keeps_reads_cart_and_orders_working_and_every_order_ends(
        shop: Checkout) -> None:
    async with aiohttp.ClientSession() as s:
        shoppers = [await shop.shopper(s) for _ in range(3)]
        async with s.get(f"{shop.gateway}/api/v1/catalog/products?limit=3") as r:
            skus = [item["sku"] for item in (await r.json())["items"]]
        broker = shop.pid_of("nats-1")
        shop.souk("hold", "nats-1")
        os.kill(broker, signal.SIGKILL)
        down_since = time.monotonic()

        async def nats_gone() -> bool:
            return not pid_alive(broker)

        await wait_until("nats-1 dead", nats_gone, 10)
        # a service restarted during the outage is ready, registers and is routed to again
        cart = shop.pid_of("cart-1")
        os.kill(cart, signal.SIGKILL)
        shop.platform.wait_ready("cart-1", other_than_pid=cart, timeout=60)

        async def cart_routed() -> bool:
            return (await shop.call(s, "GET", "/api/v1/cart", shoppers[0].token))[0] == 200

        await wait_until("the restarted cart routed through the gateway", cart_routed, 30)

        failures: list[str] = []
        placed: list[tuple[Shopper, str]] = []

        async def expect(what: str, status: int, body: object, *wanted: int) -> None:
            if status not in wanted:
                failures.append(f"{what}: {status} {json.dumps(body)[:300]}")

        n = 0
        while time.monotonic() - down_since < OUTAGE:
            shopper, sku = shoppers[n % len(shoppers)], skus[n % len(skus)]
            n += 1
            async with s.get(f"{shop.gateway}/api/v1/catalog/products?limit=5") as r:
                await expect("GET products", r.status, await r.json(content_type=None), 200)
            await expect("PUT cart item", *await shop.call(
                s, "PUT", f"/api/v1/cart/items/{sku}", shopper.token, {"quantity": 1}), 200)
            await expect("GET cart", *await shop.call(s, "GET", "/api/v1/cart", shopper.token),
                         200)
            status, order = await shop.checkout(s, shopper, f"outage-{n}", wait=0)
            await expect("POST orders", status, order, 201)
            if status == 201:
                assert order["status"] == "PENDING", order
                placed.append((shopper, order["id"]))
                await expect("GET order", *await shop.call(
                    s, "GET", f"/api/v1/orders/{order['id']}", shopper.token), 200)
            await asyncio.sleep(1.0)
        assert not failures, failures
        assert len(placed) >= 10, placed
        assert not pid_alive(broker) and shop.platform.process("nats-1")["status"] == "held"

        shop.souk("release", "nats-1")
        shop.platform.wait_ready("nats-1", other_than_pid=broker, timeout=60)

        finals: dict[str, tuple[str, str]] = {}

        async def every_order_final() -> bool:
            for shopper, order_id in placed:
                order = await shop.order(s, shopper, order_id)
                finals[order_id] = (order["status"], order.get("reason") or "")
            return all(status in ("CONFIRMED", "CANCELLED") for status, _ in finals.values())

        await wait_until("every order placed during the outage terminal", every_order_final, 120)
        # the outage delayed them; it did not time them out (good cards, stock enough)
        assert {status for status, _ in finals.values()} == {"CONFIRMED"}, finals
    shop.verify(wait=120)


async def test_one_service_away_opens_no_breaker_of_the_services_that_depend_on_it(
        shop: Checkout) -> None:
    """Cart away: checkouts are refused (503, orders says the cart is unavailable), and orders'
    other routes stay served. Its 503s carry Proxy-Status, so the gateway's breaker for orders
    stays closed; before, it opened after ten and reading one's orders failed too."""
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        cart = shop.pid_of("cart-1")
        shop.souk("hold", "cart-1")
        try:
            os.kill(cart, signal.SIGKILL)

            async def cart_gone() -> bool:
                return not pid_alive(cart)

            await wait_until("cart-1 dead", cart_gone, 10)
            for n in range(12):
                status, body = await shop.checkout(s, shopper, f"away-{time.time_ns()}-{n}")
                assert (status, body["type"].rsplit("/", 2)[-2:]) == (
                    503, ["orders", "cart-unavailable"]), body
            status, listing = await shop.call(s, "GET", "/api/v1/orders", shopper.token)
            assert status == 200 and listing["items"] == [], listing
        finally:
            shop.souk("release", "cart-1")
        shop.platform.wait_ready("cart-1", other_than_pid=cart, timeout=60)

        async def cart_routed() -> bool:
            return (await shop.call(s, "GET", "/api/v1/cart", shopper.token))[0] == 200

        await wait_until("the restarted cart routed through the gateway", cart_routed, 30)


def _post_orders_served(orders_url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(f"{orders_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return any(line.startswith("souk_http_requests_total{") and 'method="POST"' in line
               and 'route="/v1/orders"' in line for line in text.splitlines())


async def test_killing_orders_payments_and_inventory_during_a_load_fails_no_checkout(
        shop: Checkout) -> None:
    load = shop.load_in_background("--checkouts", "400", "--concurrency", "16",
                                   "--decline-rate", "0.2")
    orders_url = shop.url_of("orders")
    deadline = time.monotonic() + 60
    while not await asyncio.to_thread(_post_orders_served, orders_url):
        assert load.poll() is None and time.monotonic() < deadline, "the load placed no order"
        await asyncio.sleep(0.1)
    killed = []
    for instance in ("orders-1", "payments-1", "inventory-1"):
        if load.poll() is not None:
            break
        os.kill(shop.pid_of(instance), signal.SIGKILL)
        killed.append(instance)
        # close enough that a fast machine's load is still running at the last kill (the
        # restart of orders alone stalls it for a second or two)
        await asyncio.sleep(0.5)
    out, err = await asyncio.to_thread(load.communicate, timeout=300)
    assert load.returncode == 0, err[-3000:]
    result = json.loads(out)
    assert result["checkouts"] == 400 and result["failed"] == 0, json.dumps(result)
    assert len(killed) == 3, f"the load ended after killing only {killed}"
    assert result["retried"] >= 1, result  # the orders kill was seen, and ridden out
    shop.verify(wait=120)
