"""The checkout on the real platform: every outcome, idempotency, and faults — each scenario
ends with `souk verify` finding every invariant of ARCHITECTURE §5 intact."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid

import aiohttp
import nats
import pytest

from .checkout_platform import Checkout, shared_shop

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Checkout:
    return shared_shop(tmp_path_factory, engine)  # one platform per engine, see SHARED


async def a_sku(s: aiohttp.ClientSession, shop: Checkout, index: int = 0) -> str:
    async with s.get(f"{shop.gateway}/api/v1/catalog/products?limit=20") as r:
        return str((await r.json())["items"][index]["sku"])


async def available(s: aiohttp.ClientSession, shop: Checkout, sku: str) -> int:
    async with s.get(f"{shop.gateway}/api/v1/inventory/stock/{sku}") as r:
        assert r.status == 200, await r.text()
        return int((await r.json())["available"])


async def eventually(check, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.2)


async def test_happy_path_confirms_charges_once_notifies_and_clears_the_cart(shop: Checkout) -> None:
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        sku = await a_sku(s, shop, 1)
        before = await available(s, shop, sku)
        await shop.fill(s, shopper, sku, 3)
        status, order = await shop.checkout(s, shopper, "happy-1")
        assert status == 201 and order["status"] == "CONFIRMED", order
        assert await available(s, shop, sku) == before - 3
        _, payment = await shop.call(s, "GET", f"/api/v1/payments/{order['id']}", shopper.token)
        assert payment["captured_minor"] == order["total_minor"]

        async def notified() -> list[dict[str, str]]:
            _, box = await shop.call(s, "GET", "/api/v1/notifications", shopper.token)
            return list(box["items"])

        box = await eventually(notified)
        assert [(m["order_id"], m["kind"]) for m in box] == [(order["id"], "order-confirmed")]

        async def cart_empty() -> bool:
            _, cart = await shop.call(s, "GET", "/api/v1/cart", shopper.token)
            return not cart["items"]

        assert await eventually(cart_empty)
    shop.verify()


async def test_a_line_set_again_before_the_confirmation_lands_stays_for_the_next_order(
        shop: Checkout) -> None:
    # decision 75: the confirmation removes only the lines not set since the order's cart version
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        kept, cleared = await a_sku(s, shop, 8), await a_sku(s, shop, 9)
        await shop.fill(s, shopper, kept, 1)
        await shop.fill(s, shopper, cleared, 1)
        status, order = await shop.checkout(s, shopper, "refill-1", wait=0)  # answered at once
        assert status == 201, order
        await shop.fill(s, shopper, kept, 1)  # the same line again, for the next order

        async def confirmed() -> bool:
            return (await shop.order(s, shopper, order["id"]))["status"] == "CONFIRMED"

        assert await eventually(confirmed)

        async def cart_skus() -> list[tuple[str, int]]:
            _, cart = await shop.call(s, "GET", "/api/v1/cart", shopper.token)
            return [(i["sku"], i["quantity"]) for i in cart["items"]]

        async def applied() -> bool:  # the unchanged line is gone: the confirmation is applied
            return all(sku != cleared for sku, _ in await cart_skus())

        assert await eventually(applied)
        assert await cart_skus() == [(kept, 1)]
        status, second = await shop.checkout(s, shopper, "refill-2")
        assert status == 201 and second["status"] == "CONFIRMED", second
        assert [line["sku"] for line in second["lines"]] == [kept]
    shop.verify()


async def test_a_declined_card_cancels_releases_the_stock_and_charges_nothing(shop: Checkout) -> None:
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        sku = await a_sku(s, shop, 2)
        before = await available(s, shop, sku)
        await shop.fill(s, shopper, sku, 2)
        status, order = await shop.checkout(s, shopper, "declined-1", card="tok_decline")
        assert status == 201 and order["status"] == "CANCELLED"
        assert order["reason"] == "payment-declined"
        assert await available(s, shop, sku) == before
        _, payment = await shop.call(s, "GET", f"/api/v1/payments/{order['id']}", shopper.token)
        assert payment["captured_minor"] == 0
    shop.verify()


async def test_stock_out_cancels_and_the_last_unit_sells_once(shop: Checkout) -> None:
    sku = f"HOM-{uuid.uuid4().int % 10**6:06d}"
    async with aiohttp.ClientSession() as s:
        admin = await shop.token(s, "admin")
        status, body = await shop.call(s, "POST", "/api/v1/catalog/admin/products", admin, {
            "sku": sku, "name": "Last Kite", "description": "Only one left.",
            "price": {"amount_minor": 990, "currency": "EUR"}, "category": "home"})
        assert status == 201, body
        status, body = await shop.call(s, "POST", f"/api/v1/inventory/admin/stock/{sku}/restock",
                                       admin, {"quantity": 1})
        assert status == 200, body
        first, second = await shop.shopper(s), await shop.shopper(s)
        await shop.fill(s, first, sku, 2)
        _, order = await shop.checkout(s, first, "out-1")
        assert order["status"] == "CANCELLED" and order["reason"] == "insufficient-stock"
        await shop.fill(s, first, sku, 1)
        await shop.fill(s, second, sku, 1)
        (_, a), (_, b) = await asyncio.gather(shop.checkout(s, first, "out-2"),
                                              shop.checkout(s, second, "out-3"))
        assert sorted([a["status"], b["status"]]) == ["CANCELLED", "CONFIRMED"]
        assert await available(s, shop, sku) == 0
    shop.verify()


async def test_the_same_idempotency_key_twice_and_concurrently_is_one_order_one_charge(
        shop: Checkout) -> None:
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        await shop.fill(s, shopper, await a_sku(s, shop, 3), 1)
        results = await asyncio.gather(*(shop.checkout(s, shopper, "same-key") for _ in range(10)))
        assert {body["id"] for _, body in results} == {results[0][1]["id"]}
        assert sorted(status for status, _ in results) == [200] * 9 + [201]
        again_status, again = await shop.checkout(s, shopper, "same-key")
        assert again_status == 200 and again["id"] == results[0][1]["id"]
        _, mine = await shop.call(s, "GET", "/api/v1/orders", shopper.token)
        assert len(mine["items"]) == 1
        _, payments = await shop.call(s, "GET", "/api/v1/payments", shopper.token)
        assert len(payments["items"]) == 1 and payments["items"][0]["status"] == "captured"
    shop.verify()


async def test_a_payment_past_its_deadline_cancels_and_the_late_authorization_is_voided(
        shop: Checkout) -> None:
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        await shop.fill(s, shopper, await a_sku(s, shop, 4), 1)
        status, order = await shop.checkout(s, shopper, "slow-1", card="tok_timeout")
        assert status == 201 and order["status"] == "CANCELLED", order
        assert order["reason"] == "payment-timeout"

        async def voided() -> bool:  # the processor answers after 4 s: authorized, then voided
            _, payment = await shop.call(s, "GET", f"/api/v1/payments/{order['id']}",
                                         shopper.token)
            types = [e["type"] for e in payment.get("events", [])]
            return "Authorized" in types and "Voided" in types

        assert await eventually(voided, timeout=20), "the late authorization was not voided"
    shop.verify()


async def test_a_poison_message_is_dead_lettered_and_checkouts_keep_flowing(shop: Checkout) -> None:
    nats_url = shop.platform.url_of("nats")
    poison_id = f"poison-{uuid.uuid4().hex[:8]}"
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish("souk.inventory.ReserveStock.v1", b'{"order_id": 42}',
                                     headers={"Nats-Msg-Id": poison_id, "Souk-Msg-Id": poison_id,
                                              "Souk-Type": "inventory.ReserveStock.v1"})
    finally:
        await nc.close()
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        await shop.fill(s, shopper, await a_sku(s, shop, 5), 1)
        _, order = await shop.checkout(s, shopper, "after-poison")
        assert order["status"] == "CONFIRMED"
    listing = json.loads(shop.souk("dlq", "list", "--json").stdout)
    assert any(item["msg_id"] == poison_id and item["consumer"] == "inventory" for item in listing)
    report = shop.verify()
    assert report["counts"]["dead_letters"] >= 1


async def test_a_consumer_killed_after_its_effect_before_its_ack_applies_it_once(
        shop: Checkout) -> None:
    victim = shop.pid_of("inventory-1")
    shop.arm("inventory", "consumer.after-commit")
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        sku = await a_sku(s, shop, 6)
        before = await available(s, shop, sku)
        await shop.fill(s, shopper, sku, 2)
        _, order = await shop.checkout(s, shopper, "crash-consumer", wait=30)
        assert order["status"] == "CONFIRMED", order
        assert shop.pid_of("inventory-1") != victim, "inventory did not crash at the armed point"
        assert await available(s, shop, sku) == before - 2  # reserved once, not twice
    shop.verify()


async def test_the_relay_killed_after_publishing_before_deleting_causes_no_duplicate(
        shop: Checkout) -> None:
    victim = shop.pid_of("orders-1")
    shop.arm("orders", "relay.after-publish")
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        sku = await a_sku(s, shop, 7)
        before = await available(s, shop, sku)
        await shop.fill(s, shopper, sku, 1)
        status, order = await shop.checkout(s, shopper, "crash-relay", wait=0)
        assert status in (201, 502, 503), order

        async def confirmed() -> bool:
            _, mine = await shop.call(s, "GET", "/api/v1/orders", shopper.token)
            items = (mine or {}).get("items") or []
            return bool(items) and items[0]["status"] == "CONFIRMED"

        assert await eventually(confirmed, timeout=60)
        assert shop.pid_of("orders-1") != victim, "orders did not crash at the armed point"
        assert await available(s, shop, sku) == before - 1
    shop.verify()


def _load_result(proc: subprocess.Popen[str], timeout: float) -> dict[str, object]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return dict(json.loads(out))


async def test_kill_9_of_orders_in_the_middle_of_sagas_and_every_saga_finishes(
        shop: Checkout) -> None:
    load = shop.load_in_background("--checkouts", "150", "--concurrency", "16",
                                   "--decline-rate", "0.2")
    await asyncio.sleep(2.0)
    os.kill(shop.pid_of("orders-1"), signal.SIGKILL)
    result = await asyncio.to_thread(_load_result, load, 240)
    assert result["confirmed"] > 0 and result["cancelled"] > 0, result
    shop.verify()


async def test_kill_9_of_inventory_and_payments_during_a_load_of_200_checkouts(
        shop: Checkout) -> None:
    load = shop.load_in_background("--checkouts", "240", "--concurrency", "24",
                                   "--decline-rate", "0.2")
    await asyncio.sleep(1.5)
    os.kill(shop.pid_of("inventory-1"), signal.SIGKILL)
    await asyncio.sleep(1.5)
    os.kill(shop.pid_of("payments-1"), signal.SIGKILL)
    result = await asyncio.to_thread(_load_result, load, 300)
    assert result["checkouts"] == 240 and result["confirmed"] > 0, result
    report = shop.verify()
    assert report["counts"]["orders"] >= 240


def test_analytics_replay_rebuilds_identical_read_models(shop: Checkout) -> None:
    proc = shop.souk("replay", "analytics", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "identical" in proc.stdout.lower()
