"""The cart over HTTP: per-user carts, bounds, the internal read for orders, and prices from the
catalog through the chassis client (fresh, cached, stale, none, breaker open)."""

from __future__ import annotations

import re

import pytest

from ..conftest import Cart, StartCart, StubCatalog

pytestmark = pytest.mark.integration

PROBLEMS = "https://souk.dev/problems/"


def line(sku: str, quantity: int, price: int, stale: bool = False) -> dict[str, object]:
    return {"sku": sku, "name": f"Product {sku}", "quantity": quantity,
            "unit_price": {"amount_minor": price, "currency": "EUR"},
            "line_total_minor": quantity * price, "price_stale": stale}


async def test_an_empty_cart_is_200_with_no_items(cart: Cart) -> None:
    reply = await cart.get()
    assert reply.status == 200
    assert reply.body == {"items": [], "total_minor": 0, "currency": "EUR", "stale": False,
                          "version": 0, "unavailable": []}


async def test_putting_items_prices_them_fresh_from_the_catalog(cart: Cart) -> None:
    assert (await cart.put("KIT-0001", 2)).status == 200
    reply = await cart.put("KIT-0002", 1)
    assert reply.status == 200
    doc = reply.body
    assert doc["items"] == [line("KIT-0001", 2, 1250), line("KIT-0002", 1, 399)]
    assert (doc["total_minor"], doc["stale"], doc["version"]) == (2899, False, 2)
    doc = (await cart.put("KIT-0001", 5)).body  # sets, does not add
    assert doc["items"][0]["quantity"] == 5 and doc["version"] == 3


async def test_adding_counts_on_what_the_line_holds_and_adds_at_once_all_count(cart: Cart) -> None:
    import asyncio

    add = {"sku": "KIT-0001", "quantity": 2}
    reply = await cart.call("POST", "/v1/cart/items", add)
    assert (reply.status, reply.headers["etag"]) == (200, '"1"')
    assert reply.body["items"] == [line("KIT-0001", 2, 1250)]
    # six tabs add one each at the same moment: none is lost (a read and a set of the sum would)
    replies = await asyncio.gather(*(cart.call("POST", "/v1/cart/items", {**add, "quantity": 1})
                                     for _ in range(6)))
    assert [r.status for r in replies] == [200] * 6
    doc = (await cart.get()).body
    assert (doc["items"], doc["version"]) == ([line("KIT-0001", 8, 1250)], 7)
    # past 99 in a line: refused whole, the line as it was
    over = await cart.call("POST", "/v1/cart/items", {**add, "quantity": 92})
    assert (over.status, over.body["type"]) == (422, PROBLEMS + "cart/invalid-quantity")
    assert "holds 8 of KIT-0001" in over.body["detail"]
    assert (await cart.call("POST", "/v1/cart/items", {**add, "quantity": 91})).status == 200
    for bad, status, slug in [({"sku": "NOT-SOLD", "quantity": 1}, 422, "cart/unknown-sku"),
                              ({"sku": "kit-lower", "quantity": 1}, 400, "cart/invalid-sku"),
                              ({"sku": "KIT-0002", "quantity": 0}, 422, "validation-error"),
                              ({"sku": "KIT-0002"}, 422, "validation-error")]:
        reply = await cart.call("POST", "/v1/cart/items", bad)
        assert (reply.status, reply.body["type"]) == (status, PROBLEMS + slug), bad
    stale = await cart.call("POST", "/v1/cart/items", add, headers={"If-Match": '"1"'})
    assert (stale.status, stale.body["type"]) == (412, PROBLEMS + "cart/changed")
    doc = (await cart.get()).body
    assert (doc["items"], doc["version"]) == ([line("KIT-0001", 99, 1250)], 8)


async def test_an_add_sent_again_with_its_key_is_made_once(cart: Cart) -> None:
    import asyncio

    add = {"sku": "KIT-0001", "quantity": 1}
    first = await cart.call("POST", "/v1/cart/items", add, headers={"Idempotency-Key": "form-1"})
    assert (first.status, first.body["version"]) == (200, 1)
    # a double click and two resends at once: the cart as it is, nothing added
    again = await asyncio.gather(*(cart.call("POST", "/v1/cart/items", add,
                                             headers={"Idempotency-Key": "form-1"})
                                   for _ in range(3)))
    assert [(r.status, r.body) for r in again] == [(200, first.body)] * 3
    assert again[0].headers["etag"] == '"1"'
    # four new forms sent at once with one key: one add
    fresh = await asyncio.gather(*(cart.call("POST", "/v1/cart/items", add,
                                             headers={"Idempotency-Key": "form-2"})
                                   for _ in range(4)))
    assert [r.status for r in fresh] == [200] * 4
    doc = (await cart.get()).body
    assert (doc["items"][0]["quantity"], doc["version"]) == (2, 2)
    assert (await cart.call("POST", "/v1/cart/items", add, user="bob",
                            headers={"Idempotency-Key": "form-1"})).body["version"] == 1
    bad = await cart.call("POST", "/v1/cart/items", add, headers={"Idempotency-Key": "a b"})
    assert bad.status == 400
    # the key of an add made, sent with another add: refused, not answered as if made
    for other in ({"sku": "KIT-0002", "quantity": 1}, {"sku": "KIT-0001", "quantity": 3}):
        reused = await cart.call("POST", "/v1/cart/items", other,
                                 headers={"Idempotency-Key": "form-1"})
        assert (reused.status, reused.body["type"]) == (
            422, PROBLEMS + "cart/idempotency-key-reused"), reused.body
    assert (await cart.get()).body == doc


async def test_a_line_of_another_currency_is_refused_and_stores_nothing(
        cart: Cart, catalog: StubCatalog) -> None:
    """It was stored, then the answer (the cart priced) was the 409: the cart's version moved,
    and every later read and checkout of it failed until the line was taken out."""
    catalog.prices["USD-0001"] = 500
    catalog.currencies["USD-0001"] = "USD"
    await cart.put("KIT-0001", 1)
    before = (await cart.get()).body
    for method, path, body in (("PUT", "/v1/cart/items/USD-0001", {"quantity": 1}),
                               ("POST", "/v1/cart/items", {"sku": "USD-0001", "quantity": 1})):
        reply = await cart.call(method, path, body)
        assert (reply.status, reply.body["type"]) == (409, PROBLEMS + "cart/mixed-currencies")
        assert "USD-0001 is priced in USD" in reply.body["detail"]
    after = await cart.get()
    assert (after.status, after.body) == (200, before)


async def test_a_user_sees_only_their_own_cart(cart: Cart) -> None:
    await cart.put("KIT-0001", 1, user="alice")
    reply = await cart.get(user="bob")
    assert (reply.status, reply.body["items"]) == (200, [])
    reply = await cart.call("DELETE", "/v1/cart/items/KIT-0001", user="bob")
    assert (reply.status, reply.body["type"]) == (404, PROBLEMS + "cart/item-not-found")
    assert len((await cart.get(user="alice")).body["items"]) == 1


async def test_no_token_is_401_and_the_internal_read_wants_orders(cart: Cart) -> None:
    assert (await cart.call("GET", "/v1/cart", user=None)).status == 401
    await cart.put("KIT-0001", 3, user="alice")
    path = "/v1/internal/carts/alice"
    assert (await cart.call("GET", path)).status == 401  # a user token
    assert (await cart.call("GET", path, roles=("admin",))).status == 401  # even an admin's
    assert (await cart.call("GET", path, service="payments")).status == 403
    reply = await cart.call("GET", path, service="orders")
    assert reply.status == 200
    # the shape orders' cart adapter reads
    doc = reply.body
    assert (doc["user_id"], doc["total_minor"], doc["currency"], doc["version"]) == (
        "alice", 3750, "EUR", 1)
    item = doc["items"][0]
    assert (item["sku"], item["quantity"], item["unit_price"]["amount_minor"], item["name"]) == (
        "KIT-0001", 3, 1250, "Product KIT-0001")
    empty = await cart.call("GET", "/v1/internal/carts/nobody", service="orders")
    assert (empty.status, empty.body["items"], empty.body["version"]) == (200, [], 0)


@pytest.mark.parametrize("quantity", [0, 100, -1, "2", 1.5, None, True])
async def test_quantity_outside_1_to_99_is_a_problem(cart: Cart, quantity: object) -> None:
    reply = await cart.put("KIT-0001", quantity)
    assert reply.status == 422 and reply.body["type"] == PROBLEMS + "validation-error"


async def test_bad_and_unknown_skus_are_problems(cart: Cart) -> None:
    reply = await cart.put("kit-lower", 1)
    assert (reply.status, reply.body["type"]) == (400, PROBLEMS + "cart/invalid-sku")
    reply = await cart.put("NOT-SOLD", 1)
    assert (reply.status, reply.body["type"]) == (422, PROBLEMS + "cart/unknown-sku")
    assert (await cart.get()).body["items"] == []


async def test_a_cart_holds_at_most_50_lines(cart: Cart, catalog: StubCatalog) -> None:
    catalog.prices.update({f"X-{i}": 1 for i in range(51)})
    for i in range(50):
        assert (await cart.put(f"X-{i}", 1)).status == 200
    reply = await cart.put("X-50", 1)
    assert (reply.status, reply.body["type"]) == (422, PROBLEMS + "cart/too-many-lines")
    assert (await cart.put("X-0", 9)).status == 200  # changing an existing line still works


async def test_deleting_lines_and_the_whole_cart(cart: Cart) -> None:
    await cart.put("KIT-0001", 1)
    await cart.put("KIT-0002", 1)
    assert (await cart.call("DELETE", "/v1/cart/items/KIT-0001")).status == 204
    assert [i["sku"] for i in (await cart.get()).body["items"]] == ["KIT-0002"]
    assert (await cart.call("DELETE", "/v1/cart/items/KIT-0001")).status == 404
    assert (await cart.call("DELETE", "/v1/cart")).status == 204
    doc = (await cart.get()).body
    assert doc["items"] == [] and doc["version"] == 4


async def test_a_change_made_for_a_version_the_cart_has_left_is_refused_and_changes_nothing(
        cart: Cart) -> None:
    read = await cart.get()
    assert read.headers["etag"] == '"0"'
    first = await cart.call("PUT", "/v1/cart", {"items": [{"sku": "KIT-0001", "quantity": 1}]},
                            headers={"If-Match": read.headers["etag"]})
    assert (first.status, first.headers["etag"], first.body["version"]) == (200, '"1"', 1)
    # a second tab, still holding the ETag of version 0, replaces the cart: refused, nothing done
    stale = await cart.call("PUT", "/v1/cart", {"items": [{"sku": "KIT-0002", "quantity": 3}]},
                            headers={"If-Match": '"0"'})
    assert stale.status == 412 and stale.headers["content-type"] == "application/problem+json"
    assert stale.body["type"] == PROBLEMS + "cart/changed"
    assert "version 1 now" in stale.body["detail"]
    for method, path, body in [("PUT", "/v1/cart/items/KIT-0002", {"quantity": 2}),
                               ("DELETE", "/v1/cart/items/KIT-0001", None),
                               ("DELETE", "/v1/cart", None)]:
        for if_match in ('"0"', 'W/"1"', '"one"', '"0", "7"'):  # a weak tag never matches
            reply = await cart.call(method, path, body, headers={"If-Match": if_match})
            assert (reply.status, reply.body["type"]) == (412, PROBLEMS + "cart/changed"), (
                method, path, if_match)
    after = await cart.get()
    assert after.body == first.body and after.headers["etag"] == '"1"'  # as the first change left it

    # the cart's current tag, among others, or "*": the change is made, with the next tag
    reply = await cart.call("PUT", "/v1/cart/items/KIT-0002", {"quantity": 2},
                            headers={"If-Match": '"0", "1"'})
    assert (reply.status, reply.headers["etag"]) == (200, '"2"')
    reply = await cart.call("DELETE", "/v1/cart/items/KIT-0001", headers={"If-Match": '"2"'})
    assert (reply.status, reply.headers["etag"]) == (204, '"3"')
    reply = await cart.call("DELETE", "/v1/cart", headers={"If-Match": "*"})
    assert (reply.status, reply.headers["etag"]) == (204, '"4"')
    # not an entity tag at all: a bad request, not a mismatch
    bad = await cart.call("DELETE", "/v1/cart", headers={"If-Match": "4"})
    assert bad.status == 400 and bad.body["errors"][0]["loc"] == ["header", "if-match"]
    assert (await cart.get()).headers["etag"] == '"4"'


async def test_of_changes_made_at_once_for_one_version_one_is_made(cart: Cart) -> None:
    import asyncio

    tag = (await cart.put("KIT-0001", 1)).headers["etag"]
    replies = await asyncio.gather(*(
        cart.call("PUT", "/v1/cart", {"items": [{"sku": "KIT-0002", "quantity": n}]},
                  headers={"If-Match": tag}) for n in range(1, 7)))
    assert sorted(r.status for r in replies) == [200] + [412] * 5
    (made,) = [r for r in replies if r.status == 200]
    assert (await cart.get()).body == made.body


async def test_replacing_the_whole_cart_in_one_call(cart: Cart, catalog: StubCatalog) -> None:
    await cart.put("KIT-0001", 4)
    reply = await cart.call("PUT", "/v1/cart", {"items": [
        {"sku": "KIT-0002", "quantity": 2}, {"sku": "BOOK-0001", "quantity": 1}]})
    assert reply.status == 200
    assert reply.body["items"] == [line("BOOK-0001", 1, 2000), line("KIT-0002", 2, 399)]
    assert (reply.body["total_minor"], reply.body["version"]) == (2798, 2)
    assert (await cart.get()).body == reply.body  # the answer is what a read gives

    refused = [
        ([{"sku": "KIT-0002", "quantity": 1}] * 2, 422, "cart/duplicate-sku"),
        ([{"sku": "NOT-SOLD", "quantity": 1}], 422, "cart/unknown-sku"),
        ([{"sku": "kit-0002", "quantity": 1}], 400, "cart/invalid-sku"),
        ([{"sku": "KIT-0001", "quantity": 100}], 422, "validation-error"),
        ([{"sku": "KIT-0001", "quantity": 1, "price": 0}], 422, "validation-error"),
        ([{"sku": f"X-{i}", "quantity": 1} for i in range(51)], 422, "validation-error"),
    ]
    for items, status, slug in refused:
        reply = await cart.call("PUT", "/v1/cart", {"items": items})
        assert (reply.status, reply.body["type"]) == (status, PROBLEMS + slug), items
    # nothing of the refused calls was applied
    doc = (await cart.get()).body
    assert ([i["sku"] for i in doc["items"]], doc["version"]) == (["BOOK-0001", "KIT-0002"], 2)
    asked = catalog.calls
    reply = await cart.call("PUT", "/v1/cart", {"items": []})
    assert reply.status == 200 and reply.body["items"] == [] and catalog.calls == asked


async def test_fresh_prices_are_served_from_the_cache(start_cart: StartCart,
                                                      catalog: StubCatalog) -> None:
    cart = await start_cart(price_fresh_seconds=60)
    await cart.put("KIT-0001", 1)
    asked = catalog.calls
    catalog.prices["KIT-0001"] = 9999
    for _ in range(3):
        doc = (await cart.get()).body
        assert doc["items"][0]["unit_price"]["amount_minor"] == 1250
    assert (await cart.call("PUT", "/v1/cart", {"items": [
        {"sku": "KIT-0001", "quantity": 2}]})).body["total_minor"] == 2500
    assert catalog.calls == asked


async def test_prices_no_longer_fresh_are_asked_for_again(start_cart: StartCart,
                                                          catalog: StubCatalog) -> None:
    cart = await start_cart(price_fresh_seconds=0)  # nothing is ever fresh
    await cart.put("KIT-0001", 1)
    catalog.prices["KIT-0001"] = 1300
    doc = (await cart.get()).body
    assert (doc["items"][0]["unit_price"]["amount_minor"], doc["stale"]) == (1300, False)


async def test_catalog_down_serves_cached_prices_flagged_stale(start_cart: StartCart,
                                                               catalog: StubCatalog) -> None:
    # a breaker that stays closed, so the catalog is asked again once it is back
    cart = await start_cart(price_fresh_seconds=0, breaker_min_calls=100, breaker_window=100)
    await cart.put("KIT-0001", 2)
    catalog.down = True
    reply = await cart.get()
    assert reply.status == 200
    assert reply.body["stale"] is True
    assert reply.body["items"] == [line("KIT-0001", 2, 1250, stale=True)]
    internal = await cart.call("GET", "/v1/internal/carts/alice", service="orders")
    assert (internal.status, internal.body["stale"], internal.body["total_minor"]) == (
        200, True, 2500)
    # a line never priced before cannot be added while the catalog is down
    reply = await cart.put("KIT-0002", 1)
    assert (reply.status, reply.body["type"]) == (503, PROBLEMS + "cart/pricing-unavailable")
    catalog.down = False
    assert (await cart.get()).body["stale"] is False


async def test_no_cached_price_and_catalog_down_is_503(cart: Cart, catalog: StubCatalog) -> None:
    catalog.down = True
    reply = await cart.put("KIT-0001", 1)
    assert (reply.status, reply.body["type"]) == (503, PROBLEMS + "cart/pricing-unavailable")
    reply = await cart.call("PUT", "/v1/cart", {"items": [{"sku": "KIT-0001", "quantity": 1}]})
    assert (reply.status, reply.body["type"]) == (503, PROBLEMS + "cart/pricing-unavailable")


async def test_a_passed_deadline_is_not_worked_on(start_cart: StartCart,
                                                  catalog: StubCatalog) -> None:
    cart = await start_cart(price_fresh_seconds=0, breaker_min_calls=100, breaker_window=100)
    await cart.put("KIT-0001", 1)
    asked = catalog.calls
    reply = await cart.call("GET", "/v1/cart", headers={"X-Souk-Deadline": "1000"})  # 1970
    # the caller has given up: answered at once, nothing done (the chassis's admission)
    assert (reply.status, reply.body["type"]) == (504, PROBLEMS + "deadline-exceeded")
    assert catalog.calls == asked
    bad = await cart.call("GET", "/v1/cart", headers={"X-Souk-Deadline": "soon"})
    assert (bad.status, bad.body["type"]) == (400, PROBLEMS + "validation-error")


async def test_the_breaker_opens_after_failures_and_spares_the_catalog(
        start_cart: StartCart, catalog: StubCatalog) -> None:
    cart = await start_cart(price_fresh_seconds=0, breaker_window=4, breaker_min_calls=4,
                            breaker_open_seconds=30, catalog_max_retries=0)
    await cart.put("KIT-0001", 1)
    catalog.down = True
    for _ in range(4):
        assert (await cart.get()).body["stale"] is True
    assert 'souk_breaker_state{service="cart",upstream="catalog"} 2.0' in await cart.metrics()
    asked = catalog.calls
    for _ in range(5):  # open: answered from the cache without calling the catalog
        reply = await cart.get()
        assert (reply.status, reply.body["stale"]) == (200, True)
    assert catalog.calls == asked
    short_circuited = re.search(
        r'souk_client_calls_total\{outcome="circuit_open",service="cart",upstream="catalog"\} '
        r'([0-9.]+)', await cart.metrics())
    assert short_circuited is not None and float(short_circuited.group(1)) >= 5
