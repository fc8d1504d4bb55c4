"""The orders HTTP API: problems for bad requests, own-only reads, pages, the status stream."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from chassis.testing.service import eventually
from contracts import inventory

from ..conftest import LAMP, FakeCarts, Orders, Participants, StartOrders

pytestmark = pytest.mark.integration


async def test_bad_requests_are_clear_problems(orders: Orders, carts: FakeCarts) -> None:
    no_key = await orders.call("POST", "/v1/orders", {"card_token": "tok_visa"})
    assert no_key.status == 400 and no_key.headers["content-type"] == "application/problem+json"
    assert no_key.body["errors"][0]["loc"] == ["header", "idempotency-key"]
    bad_token = await orders.call("POST", "/v1/orders", {"card_token": "visa"},
                                  headers={"Idempotency-Key": "x"})
    assert bad_token.status == 422 and bad_token.body["errors"][0]["loc"] == ["body", "card_token"]
    not_json = await orders.call("POST", "/v1/orders", data=b"{", headers={
        "Idempotency-Key": "x", "Content-Type": "application/json"})
    assert not_json.status == 400 and not_json.body["type"].endswith("/invalid-json")
    form = await orders.call("POST", "/v1/orders", data=b"a=b", headers={
        "Idempotency-Key": "x", "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status == 415
    empty = await orders.call("POST", "/v1/orders", {"card_token": "tok_visa"},
                              headers={"Idempotency-Key": "k-empty"})
    assert empty.status == 422 and empty.body["type"].endswith("orders/empty-cart")
    assert empty.body["detail"] == "the cart is empty: put something in it before checking out"
    anonymous = await orders.call("GET", "/v1/orders", user=None)
    assert anonymous.status == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    wrong_method = await orders.call("DELETE", "/v1/orders")
    assert wrong_method.status == 405 and wrong_method.headers["allow"] == "GET, HEAD, POST"


async def test_orders_are_visible_to_their_owner_only(orders: Orders, carts: FakeCarts,
                                                      participants: Participants) -> None:
    carts.carts["u1"] = (LAMP,)
    order = (await orders.checkout()).body
    theirs = await orders.call("GET", f"/v1/orders/{order['id']}", user="u2")
    assert theirs.status == 404 and theirs.body["detail"] == f"there is no order {order['id']}"
    mine = await orders.call("GET", "/v1/orders")
    assert mine.status == 200 and [o["id"] for o in mine.body["items"]] == [order["id"]]
    assert (await orders.call("GET", "/v1/orders", user="u2")).body["items"] == []
    assert (await orders.call("GET", "/v1/admin/orders")).status == 403


async def test_listings_page_with_signed_cursors(orders: Orders, carts: FakeCarts,
                                                 participants: Participants) -> None:
    carts.carts["u1"] = (LAMP,)
    placed = [(await orders.checkout(key=f"p{i}", wait=0)).body["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await orders.call("GET", "/v1/orders" + query)).body
        seen += [o["id"] for o in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == placed[::-1]
    first = (await orders.call("GET", "/v1/orders?limit=2")).body["next"]
    tampered = first[:-2] + ("A" if first[-2] != "A" else "B") + first[-1]
    bad = await orders.call("GET", f"/v1/orders?cursor={tampered}")
    assert bad.status == 400 and bad.body["type"].endswith("/invalid-cursor")
    # a cursor of one listing is refused by another
    admin = await orders.call("GET", f"/v1/admin/orders?cursor={first}", roles=("admin",))
    assert admin.status == 400
    everything = await orders.call("GET", "/v1/admin/orders?limit=1000", roles=("admin",))
    assert [o["id"] for o in everything.body["items"]] == placed
    # a last page that is full says nothing follows (it led to an empty page)
    whole = (await orders.call("GET", "/v1/orders?limit=5")).body
    assert len(whole["items"]) == 5 and whole["next"] is None
    admin = (await orders.call("GET", "/v1/admin/orders?limit=5", roles=("admin",))).body
    assert len(admin["items"]) == 5 and admin["next"] is None
    pages = [(await orders.call("GET", "/v1/orders?limit=4")).body]
    pages.append((await orders.call("GET", f"/v1/orders?limit=4&cursor={pages[0]['next']}")).body)
    assert [len(page["items"]) for page in pages] == [4, 1] and pages[1]["next"] is None


async def test_the_status_stream_sends_each_change_until_final(
        orders: Orders, carts: FakeCarts, participants: Participants) -> None:
    carts.carts["u1"] = (LAMP,)
    participants.silent = True
    order = (await orders.checkout(wait=0)).body
    token = {"Authorization": "Bearer " + orders.issuer.mint(sub="u1")}
    async with orders.http.get(f"{orders.url}/v1/orders/{order['id']}/events",
                               headers=token) as response:
        assert response.content_type == "text/event-stream"
        first = await response.content.readuntil(b"\n\n")
        assert b'"status":"PENDING"' in first
        participants.silent = False
        await participants.reply(f"{order['id']}.reserve", inventory.StockReserved(
            order_id=order["id"], idempotency_key=f"{order['id']}:reserve"))
        rest = (await response.content.read()).decode()
    statuses = [line for line in rest.splitlines() if line.startswith("data:")]
    assert '"status":"STOCK_RESERVED"' in statuses[0]
    assert '"status":"CONFIRMED"' in statuses[-1]


async def test_one_user_holds_a_bounded_number_of_long_polls_and_status_streams(
        start_orders: StartOrders, carts: FakeCarts, participants: Participants) -> None:
    # issue 10 item 17: past the bound the answer is 429 with Retry-After, before any effect
    carts.carts["u1"] = carts.carts["u2"] = (LAMP,)
    participants.silent = True  # the order stays PENDING: its streams stay open
    async with start_orders(max_waits_per_user=2) as orders, \
            contextlib.AsyncExitStack() as streams:
        order = (await orders.checkout(wait=0)).body
        events = f"{orders.url}/v1/orders/{order['id']}/events"
        token = {"Authorization": "Bearer " + orders.issuer.mint(sub="u1")}
        held = []
        for _ in range(2):
            response = await streams.enter_async_context(orders.http.get(events, headers=token))
            assert response.status == 200
            await response.content.readuntil(b"\n\n")
            held.append(response)

        refused = await orders.call("GET", f"/v1/orders/{order['id']}/events")
        assert refused.status == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.body["type"].endswith("orders/too-many-waits")
        assert int(refused.headers["retry-after"]) >= 1
        long_poll = await orders.checkout(key="k-refused", wait=5)
        assert long_poll.status == 429 and long_poll.headers["retry-after"]
        mine = (await orders.call("GET", "/v1/orders")).body["items"]
        assert [o["id"] for o in mine] == [order["id"]]  # refused before anything was placed
        assert (await orders.checkout(key="k-no-wait", wait=0)).status == 201  # not a wait
        assert (await orders.checkout(user="u2", key="k-u2", wait=0.1)).status == 201

        held[0].close()  # a client that hangs up frees its slot at once, order still pending

        async def slot_again() -> bool:
            async with orders.http.get(events, headers=token) as response:
                return response.status == 200

        await eventually(slot_again)


async def test_status_streams_are_bounded_in_all_users_together(
        start_orders: StartOrders, carts: FakeCarts, participants: Participants) -> None:
    participants.silent = True  # the orders stay PENDING: their streams stay open
    async with start_orders(max_streams=2) as orders, contextlib.AsyncExitStack() as streams:
        held = []
        for user in ("u1", "u2"):
            carts.carts[user] = (LAMP,)
            order = (await orders.checkout(user=user, key=f"k-{user}", wait=0)).body
            token = {"Authorization": "Bearer " + orders.issuer.mint(sub=user)}
            response = await streams.enter_async_context(
                orders.http.get(f"{orders.url}/v1/orders/{order['id']}/events", headers=token))
            assert response.status == 200
            await response.content.readuntil(b"\n\n")
            held.append(response)

        carts.carts["u3"] = (LAMP,)
        third = (await orders.checkout(user="u3", key="k-u3", wait=0)).body
        refused = await orders.call("GET", f"/v1/orders/{third['id']}/events", user="u3")
        assert refused.status == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.body["type"].endswith("orders/too-many-streams"), refused.body
        # a long poll is bounded apart, and reads go on
        assert (await orders.checkout(user="u3", key="k-u3-poll", wait=0.2)).status == 201
        assert (await orders.call("GET", f"/v1/orders/{third['id']}", user="u3")).status == 200

        held[0].close()  # a stream that ends frees its place for anyone

        async def stream_again() -> bool:
            token = {"Authorization": "Bearer " + orders.issuer.mint(sub="u3")}
            async with orders.http.get(f"{orders.url}/v1/orders/{third['id']}/events",
                                       headers=token) as response:
                return response.status == 200

        await eventually(stream_again)


async def test_long_polls_refuse_no_one_elses_work_and_past_their_bound_are_not_waits(
        start_orders: StartOrders, carts: FakeCarts, participants: Participants) -> None:
    """Eighty long polls from eight accounts refused every other customer's reads and
    checkouts while they waited: each held an admission slot, doing no work. A long poll now
    leaves the admission bound once its order is placed; past `max_waits` in all, `Prefer:
    wait` is not applied (RFC 7240: a preference) and the order is answered at once."""
    users = [f"u{n}" for n in range(1, 8)]
    for user in users:
        carts.carts[user] = (LAMP,)
    participants.silent = True  # every order stays PENDING: the long polls wait their time
    # a limit of 10: reads are admitted while fewer than 5 requests are counted
    async with start_orders(max_concurrency=10, max_waits=6) as orders:
        polls = []
        for user in users[:6]:  # one at a time: each placed (its work done) before the next
            polls.append(asyncio.ensure_future(orders.checkout(user=user, key=user, wait=20)))

            async def placed(user: str = user) -> bool:
                mine = await orders.call("GET", "/v1/orders", user=user)
                return mine.status == 200 and bool(mine.body["items"])

            await eventually(placed)
        assert not any(poll.done() for poll in polls)  # six waits, more than reads' 5
        for _ in range(3):
            assert (await orders.call("GET", "/v1/orders", user="u7")).status == 200
        at_once = await orders.checkout(user="u7", key="u7", wait=20)  # the seventh wait
        assert at_once.status == 201 and at_once.body["status"] == "PENDING"
        assert "preference-applied" not in {k.lower() for k in at_once.headers}
        for poll in polls:
            poll.cancel()
        for poll in polls:
            with contextlib.suppress(asyncio.CancelledError):
                await poll


async def test_a_long_poll_whose_client_hangs_up_frees_its_slot(
        start_orders: StartOrders, carts: FakeCarts, participants: Participants) -> None:
    # a caller that gives up on `Prefer: wait` (its own timeout, a closed tab) holds none of its
    # waits any more, although its order stays pending
    carts.carts["u1"] = (LAMP,)
    participants.silent = True  # the order stays PENDING: the long poll would wait its 30 s
    async with start_orders(max_waits_per_user=1) as orders:
        waiting = asyncio.ensure_future(orders.checkout(key="k-gone", wait=30))

        async def placed() -> bool:
            return bool((await orders.call("GET", "/v1/orders")).body["items"])

        await eventually(placed)
        assert (await orders.checkout(key="k-next", wait=0.1)).status == 429  # the slot is held
        waiting.cancel()  # the client hangs up: aiohttp closes the connection
        with contextlib.suppress(asyncio.CancelledError):
            await waiting

        async def slot_again() -> bool:
            return (await orders.checkout(key="k-next", wait=0.1)).status == 201

        await eventually(slot_again, timeout=5.0)
        mine = (await orders.call("GET", "/v1/orders")).body["items"]
        assert [o["status"] for o in mine] == ["PENDING", "PENDING"]


async def test_inventory_looks_up_saga_statuses_with_its_service_token(
        orders: Orders, carts: FakeCarts, participants: Participants) -> None:
    carts.carts["u1"] = (LAMP,)
    order = (await orders.checkout()).body
    asked = {"order_ids": [order["id"], "no-such-order"]}
    found = await orders.call("POST", "/v1/internal/sagas", asked, service="inventory")
    assert found.status == 200
    assert found.body == {"items": [{"order_id": order["id"], "status": order["status"]}]}
    assert (await orders.call("POST", "/v1/internal/sagas", asked, service="cart")).status == 403
    assert (await orders.call("POST", "/v1/internal/sagas", asked)).status in (401, 403)
    too_many = {"order_ids": [f"o{i}" for i in range(501)]}
    assert (await orders.call("POST", "/v1/internal/sagas", too_many,
                              service="inventory")).status == 422
