"""Breaking the running platform on purpose with `souk fault` (the commands the chaos
experiments call): a paused service, and payments cut from the broker during checkouts through
the fault proxy. Each ends with every order terminal and `souk verify` clean."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from .checkout_platform import FAULTS_TOPOLOGY, Checkout, Shopper, shared_shop

pytestmark = pytest.mark.system

TERMINAL = ("CONFIRMED", "CANCELLED")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Checkout:
    return shared_shop(tmp_path_factory, engine, "faults", FAULTS_TOPOLOGY)  # see SHARED


async def a_sku(s: aiohttp.ClientSession, shop: Checkout) -> str:
    async with s.get(f"{shop.gateway}/api/v1/catalog/products?limit=5") as r:
        return str((await r.json())["items"][0]["sku"])


async def settled_as(s: aiohttp.ClientSession, shop: Checkout,
                     placed: list[tuple[Shopper, str]], states: set[str],
                     timeout: float) -> dict[str, str]:
    """The orders' states once each is one of ``states`` (or as they are at ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        now = {oid: (await shop.order(s, shopper, oid))["status"] for shopper, oid in placed}
        if set(now.values()) <= states or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.5)


async def all_terminal(s: aiohttp.ClientSession, shop: Checkout,
                       placed: list[tuple[Shopper, str]], timeout: float) -> dict[str, str]:
    return await settled_as(s, shop, placed, set(TERMINAL), timeout)


async def test_a_paused_service_holds_checkouts_back_until_resumed(shop: Checkout) -> None:
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        await shop.fill(s, shopper, await a_sku(s, shop), 1)
        pid = shop.pid_of("inventory-1")
        shop.souk("fault", "pause", "inventory-1")
        assert shop.platform.process("inventory-1")["status"] == "paused"
        status, order = await shop.checkout(s, shopper, "paused-1", wait=2)
        assert status in (201, 202) and order["status"] not in TERMINAL, order  # waits on stock
        shop.souk("fault", "resume", "inventory-1")
        states = await all_terminal(s, shop, [(shopper, order["id"])], 60)
        assert states == {order["id"]: "CONFIRMED"}
        assert shop.pid_of("inventory-1") == pid  # paused, not restarted
    shop.verify()


async def test_payments_cut_from_the_broker_during_checkouts_then_healed_ends_clean(
        shop: Checkout) -> None:
    async with aiohttp.ClientSession() as s:
        shoppers = [await shop.shopper(s) for _ in range(4)]
        sku = await a_sku(s, shop)
        shop.souk("fault", "partition", "payments", "broker")
        listed = shop.souk("fault", "list").stdout
        assert "payments → broker: partition" in listed
        placed: list[tuple[Shopper, str]] = []
        for n, shopper in enumerate(shoppers):
            await shop.fill(s, shopper, sku, 1)
            status, order = await shop.checkout(s, shopper, f"cut-{n}", wait=1)
            assert status in (201, 202), order
            placed.append((shopper, order["id"]))
        # payments hears nothing: no order can be paid; the authorizations time out (2 s here)
        # and the orders cancel, their voids waiting for payments in the stream
        cut = {oid: (await shop.order(s, shopper, oid))["status"] for shopper, oid in placed}
        assert "CONFIRMED" not in cut.values(), cut
        shop.souk("fault", "heal", "payments")
        # after the heal a checkout goes through payments again
        shopper = shoppers[0]
        await shop.fill(s, shopper, sku, 1)
        status, order = await shop.checkout(s, shopper, "healed-1", wait=30)
        placed.append((shopper, order["id"]))
        states = await all_terminal(s, shop, placed, 60)
        assert all(state in TERMINAL for state in states.values()), states
        assert states[order["id"]] == "CONFIRMED"
    shop.verify()
