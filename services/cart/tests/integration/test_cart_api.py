"""The cart over HTTP: per-user carts, bounds, and prices from the catalog (fresh, stale, none)."""

from __future__ import annotations

import asyncio
import re

import pytest

from .conftest import ISSUER, RunningCart, StartCart, StubCatalog

pytestmark = pytest.mark.integration

PROBLEMS = "https://souk.dev/problems/"


async def test_an_empty_cart_is_200_with_no_items(cart: RunningCart) -> None:
    status, doc = await cart.call("GET", "/v1/cart")
    assert status == 200
    assert doc == {"items": [], "total_minor": 0, "currency": "EUR", "stale": False,
                   "version": 0, "unavailable": []}


async def test_putting_items_prices_them_fresh_from_the_catalog(cart: RunningCart) -> None:
    assert (await cart.put("KIT-0001", 2))[0] == 200
    status, doc = await cart.put("KIT-0002", 1)
    assert status == 200
    assert doc["items"] == [
        {"sku": "KIT-0001", "quantity": 2, "unit_price": {"amount_minor": 1250, "currency": "EUR"},
         "line_total_minor": 2500, "price_stale": False},
        {"sku": "KIT-0002", "quantity": 1, "unit_price": {"amount_minor": 399, "currency": "EUR"},
         "line_total_minor": 399, "price_stale": False}]
    assert (doc["total_minor"], doc["stale"], doc["version"]) == (2899, False, 2)
    status, doc = await cart.put("KIT-0001", 5)  # sets, does not add
    assert doc["items"][0]["quantity"] == 5 and doc["version"] == 3


async def test_a_user_sees_only_their_own_cart(cart: RunningCart) -> None:
    await cart.put("KIT-0001", 1, user="alice")
    status, doc = await cart.call("GET", "/v1/cart", user="bob")
    assert (status, doc["items"]) == (200, [])
    status, doc = await cart.call("DELETE", "/v1/cart/items/KIT-0001", user="bob")
    assert (status, doc["type"]) == (404, PROBLEMS + "cart/item-not-found")
    assert len((await cart.call("GET", "/v1/cart", user="alice"))[1]["items"]) == 1


async def test_no_token_is_401_and_the_internal_endpoint_wants_orders(cart: RunningCart) -> None:
    assert (await cart.call("GET", "/v1/cart", user=None))[0] == 401
    await cart.put("KIT-0001", 3, user="alice")
    assert (await cart.call("GET", "/v1/internal/carts/alice"))[0] == 401  # a user token
    token = ISSUER.service_token("payments")
    assert (await cart.call("GET", "/v1/internal/carts/alice", token=token))[0] == 403
    status, doc = await cart.call("GET", "/v1/internal/carts/alice",
                                  token=ISSUER.service_token("orders"))
    assert status == 200
    assert (doc["user_id"], doc["total_minor"], doc["items"][0]["quantity"]) == ("alice", 3750, 3)


@pytest.mark.parametrize("quantity", [0, 100, -1, "2", 1.5, None])
async def test_quantity_outside_1_to_99_is_a_problem(cart: RunningCart, quantity: object) -> None:
    status, doc = await cart.put("KIT-0001", quantity)
    assert status == 422 and doc["type"] == PROBLEMS + "validation-error"


async def test_bad_and_unknown_skus_are_problems(cart: RunningCart) -> None:
    status, doc = await cart.put("kit-lower", 1)
    assert (status, doc["type"]) == (400, PROBLEMS + "cart/invalid-sku")
    status, doc = await cart.put("NOT-SOLD", 1)
    assert (status, doc["type"]) == (422, PROBLEMS + "cart/unknown-sku")
    assert (await cart.call("GET", "/v1/cart"))[1]["items"] == []


async def test_a_cart_holds_at_most_50_lines(cart: RunningCart, catalog: StubCatalog) -> None:
    catalog.prices.update({f"X-{i}": 1 for i in range(51)})
    for i in range(50):
        assert (await cart.put(f"X-{i}", 1))[0] == 200
    status, doc = await cart.put("X-50", 1)
    assert (status, doc["type"]) == (422, PROBLEMS + "cart/too-many-lines")
    assert (await cart.put("X-0", 9))[0] == 200  # changing an existing line still works


async def test_deleting_lines_and_the_whole_cart(cart: RunningCart) -> None:
    await cart.put("KIT-0001", 1)
    await cart.put("KIT-0002", 1)
    assert (await cart.call("DELETE", "/v1/cart/items/KIT-0001"))[0] == 204
    assert [i["sku"] for i in (await cart.call("GET", "/v1/cart"))[1]["items"]] == ["KIT-0002"]
    assert (await cart.call("DELETE", "/v1/cart/items/KIT-0001"))[0] == 404
    assert (await cart.call("DELETE", "/v1/cart"))[0] == 204
    _status, doc = await cart.call("GET", "/v1/cart")
    assert doc["items"] == [] and doc["version"] == 4


async def test_replacing_the_whole_cart_in_one_call(cart: RunningCart) -> None:
    await cart.put("KIT-0001", 4)
    status, doc = await cart.call("PUT", "/v1/cart", body={"items": [
        {"sku": "KIT-0002", "quantity": 2}]})
    assert status == 200
    assert [(i["sku"], i["quantity"]) for i in doc["items"]] == [("KIT-0002", 2)]
    assert doc["total_minor"] == 798
    status, doc = await cart.call("PUT", "/v1/cart", body={"items": [
        {"sku": "KIT-0002", "quantity": 1}, {"sku": "KIT-0002", "quantity": 1}]})
    assert (status, doc["type"]) == (422, PROBLEMS + "cart/duplicate-sku")
    status, doc = await cart.call("PUT", "/v1/cart", body={"items": [
        {"sku": "NOT-SOLD", "quantity": 1}]})
    assert (status, doc["type"]) == (422, PROBLEMS + "cart/unknown-sku")
    status, doc = await cart.call("PUT", "/v1/cart", body={"items": [
        {"sku": "KIT-0001", "quantity": 100}]})
    assert status == 422
    # nothing of the refused calls was applied
    assert [i["sku"] for i in (await cart.call("GET", "/v1/cart"))[1]["items"]] == ["KIT-0002"]
    status, doc = await cart.call("PUT", "/v1/cart", body={"items": []})
    assert status == 200 and doc["items"] == []


async def test_fresh_prices_are_served_from_the_cache(start_cart: StartCart,
                                                      catalog: StubCatalog) -> None:
    cart = await start_cart(price_fresh_seconds=60)
    await cart.put("KIT-0001", 1)
    asked = catalog.calls
    catalog.prices["KIT-0001"] = 9999
    for _ in range(3):
        doc = (await cart.call("GET", "/v1/cart"))[1]
        assert doc["items"][0]["unit_price"]["amount_minor"] == 1250
    assert catalog.calls == asked


async def test_old_prices_are_refreshed(start_cart: StartCart, catalog: StubCatalog) -> None:
    cart = await start_cart(price_fresh_seconds=0.05)
    await cart.put("KIT-0001", 1)
    catalog.prices["KIT-0001"] = 1300
    await asyncio.sleep(0.1)
    doc = (await cart.call("GET", "/v1/cart"))[1]
    assert (doc["items"][0]["unit_price"]["amount_minor"], doc["stale"]) == (1300, False)


async def test_catalog_down_serves_cached_prices_flagged_stale(start_cart: StartCart,
                                                               catalog: StubCatalog) -> None:
    # a breaker that stays closed, so the catalog is asked again once it is back
    cart = await start_cart(price_fresh_seconds=0.01, breaker_min_calls=100, breaker_window=100)
    await cart.put("KIT-0001", 2)
    catalog.down = True
    await asyncio.sleep(0.05)
    status, doc = await cart.call("GET", "/v1/cart")
    assert status == 200
    assert doc["stale"] is True and doc["items"][0]["price_stale"] is True
    assert doc["total_minor"] == 2500
    # a line never priced before cannot be added while the catalog is down
    status, doc = await cart.put("KIT-0002", 1)
    assert (status, doc["type"]) == (503, PROBLEMS + "cart/pricing-unavailable")
    catalog.down = False
    await asyncio.sleep(0.05)
    assert (await cart.call("GET", "/v1/cart"))[1]["stale"] is False


async def test_no_cached_price_and_catalog_down_is_503(cart: RunningCart,
                                                       catalog: StubCatalog) -> None:
    catalog.down = True
    status, doc = await cart.put("KIT-0001", 1)
    assert (status, doc["type"]) == (503, PROBLEMS + "cart/pricing-unavailable")


async def test_the_breaker_opens_after_failures_and_spares_the_catalog(
        start_cart: StartCart, catalog: StubCatalog) -> None:
    cart = await start_cart(price_fresh_seconds=0, breaker_window=4, breaker_min_calls=4,
                            breaker_open_seconds=30, catalog_max_retries=0)
    await cart.put("KIT-0001", 1)
    catalog.down = True
    for _ in range(4):
        doc = (await cart.call("GET", "/v1/cart"))[1]
        assert doc["stale"] is True
    assert 'souk_breaker_state{service="cart",upstream="catalog"} 2.0' in await cart.metrics()
    asked = catalog.calls
    for _ in range(5):  # open: answered from the cache without calling the catalog
        status, doc = await cart.call("GET", "/v1/cart")
        assert (status, doc["stale"]) == (200, True)
    assert catalog.calls == asked
    short_circuited = re.search(
        r'souk_client_calls_total\{outcome="circuit_open",service="cart",upstream="catalog"\} '
        r'([0-9.]+)', await cart.metrics())
    assert short_circuited is not None and float(short_circuited.group(1)) >= 5
