"""The checkout saga end to end over a real JetStream: each outcome, idempotency, deadlines."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from chassis.testing import serve_app
from contracts import inventory, payments
from orders.app import create_app
from orders.domain.order import OrderLine

from .conftest import (
    ISSUER,
    FakeCarts,
    Participants,
    RunningOrders,
    eventually,
    orders_settings,
    with_test_issuer,
)

pytestmark = pytest.mark.integration

LAMP = OrderLine(sku="HOM-001", quantity=2, unit_price_minor=1250, name="Lamp")
OUT = OrderLine(sku="OUT-1", quantity=1, unit_price_minor=500)


async def test_happy_path_confirms_and_publishes_the_order_events(
        running: RunningOrders, participants: Participants) -> None:
    running.carts.carts["u1"] = (LAMP,)
    status, order = await running.checkout()
    assert status == 201, order
    assert order["status"] == "CONFIRMED" and order["total_minor"] == 2500
    assert [type(m) for m in participants.seen if m.order_id == order["id"]] == [  # type: ignore[attr-defined]
        inventory.ReserveStock, payments.AuthorizePayment, payments.CapturePayment]
    _, _, detail = await running.call("GET", f"/v1/admin/orders/{order['id']}", roles=("admin",))
    notes = [j["note"] for j in detail["journal"]]
    assert notes[0].startswith("placed") and notes[-1] == "payment captured; confirmed"


async def test_a_declined_card_cancels_and_releases_the_stock(
        running: RunningOrders, participants: Participants) -> None:
    running.carts.carts["u1"] = (LAMP,)
    status, order = await running.checkout(token="tok_decline")
    assert status == 201 and order["status"] == "CANCELLED"
    assert order["reason"] == "payment-declined"
    assert len(participants.of(inventory.ReleaseStock, order["id"])) == 1
    assert not participants.of(payments.CapturePayment, order["id"])


async def test_out_of_stock_cancels_without_asking_for_payment(
        running: RunningOrders, participants: Participants) -> None:
    running.carts.carts["u1"] = (LAMP, OUT)
    status, order = await running.checkout()
    assert status == 201
    assert order["status"] == "CANCELLED" and order["reason"] == "insufficient-stock"
    assert not participants.of(payments.AuthorizePayment, order["id"])


async def test_the_same_idempotency_key_gives_one_order_even_concurrently(
        running: RunningOrders, participants: Participants) -> None:
    running.carts.carts["u1"] = (LAMP,)
    results = await asyncio.gather(*(running.checkout(key="same") for _ in range(8)))
    ids = {body["id"] for _, body in results}
    assert len(ids) == 1
    assert sorted(status for status, _ in results).count(201) == 1
    (order_id,) = ids
    assert len(participants.of(payments.AuthorizePayment, order_id)) == 1
    assert len(participants.of(payments.CapturePayment, order_id)) == 1
    # the same key with another request is refused, not silently answered
    status, body = await running.checkout(key="same", token="tok_decline")
    assert status == 422 and body["type"].endswith("orders/idempotency-key-reused")


async def test_payment_past_its_deadline_cancels_and_the_late_authorization_is_voided(
        database_url: str, nats_url: str, participants: Participants) -> None:
    carts = FakeCarts()
    carts.carts["u1"] = (LAMP,)
    app = with_test_issuer(create_app(orders_settings(database_url, nats_url,
                                                      authorize_timeout=0.5), carts=carts))
    async with serve_app(app) as url, aiohttp.ClientSession(base_url=url) as http:
        run = RunningOrders(http=http, app=app, carts=carts)
        status, order = await run.checkout(token="tok_timeout")
        assert status == 201
        assert order["status"] == "CANCELLED" and order["reason"] == "payment-timeout"
        voids = participants.of(payments.VoidPayment, order["id"])
        assert len(voids) == 1 and len(participants.of(inventory.ReleaseStock, order["id"])) == 1
        await participants.release_late_authorizations()

        async def voided_again() -> bool:
            return len(participants.of(payments.VoidPayment, order["id"])) == 2

        await eventually(voided_again)
        _, _, detail = await run.call("GET", f"/v1/orders/{order['id']}")
        assert detail["status"] == "CANCELLED"


async def test_bad_requests_are_clear_problems(running: RunningOrders) -> None:
    status, _, body = await running.call("POST", "/v1/orders", body={"card_token": "tok_visa"})
    assert status == 400 and body["status"] == 400  # no Idempotency-Key
    status, _, body = await running.call("POST", "/v1/orders", body={"card_token": "visa"},
                                         headers={"Idempotency-Key": "x"})
    assert status == 422
    status, _, body = await running.call("POST", "/v1/orders", body={"card_token": "tok_visa"},
                                         headers={"Idempotency-Key": "k-empty"})
    assert status == 422 and body["type"].endswith("orders/empty-cart")


async def test_orders_are_visible_to_their_owner_only(running: RunningOrders) -> None:
    running.carts.carts["u1"] = (LAMP,)
    _, order = await running.checkout()
    status, _, _ = await running.call("GET", f"/v1/orders/{order['id']}", user="u2")
    assert status == 404
    status, _, mine = await running.call("GET", "/v1/orders")
    assert status == 200 and [o["id"] for o in mine["items"]] == [order["id"]]
    status, _, theirs = await running.call("GET", "/v1/orders", user="u2")
    assert theirs["items"] == []
    status, _, _ = await running.call("GET", "/v1/admin/orders")
    assert status == 403


async def test_the_status_stream_sends_each_change_until_final(
        running: RunningOrders, participants: Participants) -> None:
    running.carts.carts["u1"] = (LAMP,)
    participants.silent = True
    _, order = await running.checkout(wait=0)
    url = f"/v1/orders/{order['id']}/events"
    token = {"Authorization": "Bearer " + ISSUER.mint(sub="u1")}
    async with running.http.get(url, headers=token) as response:
        assert response.content_type == "text/event-stream"
        first = await response.content.readuntil(b"\n\n")
        assert b'"status":"PENDING"' in first
        participants.silent = False
        await participants.reply(f"{order['id']}.reserve", inventory.StockReserved(
            order_id=order["id"], idempotency_key=f"{order['id']}:reserve"))
        rest = (await response.content.read()).decode()
    statuses = [line for line in rest.splitlines() if line.startswith("data:")]
    assert '"status":"CONFIRMED"' in statuses[-1]


async def test_a_restarted_orders_finishes_the_sagas_it_left(
        database_url: str, nats_url: str, participants: Participants) -> None:
    carts = FakeCarts()
    carts.carts.update({f"u{i}": (LAMP,) for i in range(5)})
    participants.silent = True  # the participants answer nothing while the first run is up
    app = with_test_issuer(create_app(orders_settings(database_url, nats_url), carts=carts))
    async with serve_app(app) as url, aiohttp.ClientSession(base_url=url) as http:
        run = RunningOrders(http=http, app=app, carts=carts)
        placed = [(await run.checkout(user=f"u{i}", key=f"r{i}", wait=0))[1] for i in range(5)]
    assert all(o["status"] == "PENDING" for o in placed)
    participants.silent = False
    for o in placed:  # answers arrive while orders is down; they wait in the stream
        await participants.reply(f"{o['id']}.reserve", inventory.StockReserved(
            order_id=o["id"], idempotency_key=f"{o['id']}:reserve"))
    app = with_test_issuer(create_app(orders_settings(database_url, nats_url), carts=carts))
    async with serve_app(app) as url, aiohttp.ClientSession(base_url=url) as http:
        run = RunningOrders(http=http, app=app, carts=carts)

        async def all_confirmed() -> bool:
            statuses = [(await run.call("GET", f"/v1/orders/{o['id']}", user=o["user_id"]))[2]
                        ["status"] for o in placed]
            return all(s == "CONFIRMED" for s in statuses)

        await eventually(all_confirmed, timeout=15)
