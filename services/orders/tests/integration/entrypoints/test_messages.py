"""The checkout saga end to end over a real JetStream: each outcome, idempotency, deadlines,
and a restart in the middle."""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import pytest

from chassis.testing.service import eventually
from contracts import decode, inventory, payments
from contracts.orders import OrderConfirmed

from ..conftest import LAMP, OUT, FakeCarts, Orders, Participants, StartOrders

pytestmark = pytest.mark.integration


def commands_of(participants: Participants, order_id: str) -> list[type]:
    return [type(m) for m in participants.seen if m.order_id == order_id]  # type: ignore[attr-defined]


async def journal_of(orders: Orders, order_id: str) -> list[str]:
    detail = (await orders.call("GET", f"/v1/admin/orders/{order_id}", roles=("admin",))).body
    return [j["note"] for j in detail["journal"]]


async def test_happy_path_captures_on_authorization_confirms_and_journals_every_step(
        orders: Orders, carts: FakeCarts, participants: Participants) -> None:
    carts.carts["u1"] = (LAMP,)
    reply = await orders.checkout()
    assert reply.status == 201, reply.body
    order = reply.body
    assert order["status"] == "CONFIRMED" and order["total_minor"] == 2500
    assert commands_of(participants, order["id"]) == [inventory.ReserveStock,
                                                      payments.AuthorizePayment]
    (authorize,) = participants.of(payments.AuthorizePayment, order["id"])
    assert authorize.capture  # type: ignore[attr-defined]
    assert await journal_of(orders, order["id"]) == [
        "placed; reserving stock", "stock reserved; authorizing and capturing payment",
        "payment authorized and captured; confirmed"]
    metrics = (await orders.call("GET", "/metrics", user=None)).body
    assert 'souk_saga_confirmed_by_step_total{step="authorize"} 1.0' in metrics


async def test_the_published_confirmation_names_the_cart_version_the_order_was_taken_from(
        orders: Orders, carts: FakeCarts, participants: Participants, nats_url: str) -> None:
    published: list[OrderConfirmed] = []

    async def on_confirmed(msg: Any) -> None:
        published.append(decode(msg.data, OrderConfirmed))

    nc = await nats.connect(nats_url)
    try:
        await nc.subscribe("souk." + OrderConfirmed.TYPE, cb=on_confirmed)
        carts.carts["u1"] = (LAMP,)
        carts.versions["u1"] = 7
        reply = await orders.checkout()
        assert reply.status == 201 and reply.body["status"] == "CONFIRMED", reply.body

        async def arrived() -> bool:
            return len(published) == 1

        await eventually(arrived)
    finally:
        await nc.close()
    (confirmed,) = published
    assert confirmed.order_id == reply.body["id"] and confirmed.cart_version == 7


async def test_with_capture_on_authorize_off_the_payment_is_captured_in_a_second_step(
        start_orders: StartOrders, carts: FakeCarts, participants: Participants) -> None:
    carts.carts["u1"] = (LAMP,)
    async with start_orders(capture_on_authorize=False) as orders:
        reply = await orders.checkout()
        assert reply.status == 201 and reply.body["status"] == "CONFIRMED", reply.body
        order_id = reply.body["id"]
        assert commands_of(participants, order_id) == [
            inventory.ReserveStock, payments.AuthorizePayment, payments.CapturePayment]
        (authorize,) = participants.of(payments.AuthorizePayment, order_id)
        assert not authorize.capture  # type: ignore[attr-defined]
        notes = await journal_of(orders, order_id)
        assert notes[1:] == ["stock reserved; authorizing payment",
                             "payment authorized; capturing", "payment captured; confirmed"]
        metrics = (await orders.call("GET", "/metrics", user=None)).body
        assert 'souk_saga_confirmed_by_step_total{step="capture"} 1.0' in metrics


async def test_a_payments_that_ignores_capture_gets_a_capture_step(
        orders: Orders, carts: FakeCarts, participants: Participants) -> None:
    participants.only_authorize = True
    carts.carts["u1"] = (LAMP,)
    reply = await orders.checkout()
    assert reply.status == 201 and reply.body["status"] == "CONFIRMED", reply.body
    assert commands_of(participants, reply.body["id"]) == [
        inventory.ReserveStock, payments.AuthorizePayment, payments.CapturePayment]


async def test_a_declined_card_cancels_and_releases_the_stock(
        orders: Orders, carts: FakeCarts, participants: Participants) -> None:
    carts.carts["u1"] = (LAMP,)
    reply = await orders.checkout(token="tok_decline")
    assert reply.status == 201 and reply.body["status"] == "CANCELLED"
    assert reply.body["reason"] == "payment-declined"
    assert len(participants.of(inventory.ReleaseStock, reply.body["id"])) == 1
    assert not participants.of(payments.CapturePayment, reply.body["id"])


async def test_out_of_stock_cancels_without_asking_for_payment(
        orders: Orders, carts: FakeCarts, participants: Participants) -> None:
    carts.carts["u1"] = (LAMP, OUT)
    reply = await orders.checkout()
    assert reply.status == 201
    assert reply.body["status"] == "CANCELLED" and reply.body["reason"] == "insufficient-stock"
    assert not participants.of(payments.AuthorizePayment, reply.body["id"])


async def test_the_same_idempotency_key_gives_one_order_even_concurrently(
        orders: Orders, carts: FakeCarts, participants: Participants) -> None:
    carts.carts["u1"] = (LAMP,)
    results = await asyncio.gather(*(orders.checkout(key="same") for _ in range(8)))
    ids = {r.body["id"] for r in results}
    assert len(ids) == 1
    assert sorted(r.status for r in results).count(201) == 1
    (order_id,) = ids
    assert len(participants.of(payments.AuthorizePayment, order_id)) == 1
    assert not participants.of(payments.CapturePayment, order_id)  # captured on authorization
    # the same key with another request is refused, not silently answered
    reply = await orders.checkout(key="same", token="tok_decline")
    assert reply.status == 422 and reply.body["type"].endswith("orders/idempotency-key-reused")
    assert reply.body["detail"] == ("the Idempotency-Key 'same' was used before with another "
                                    "card; a new checkout takes a new key")


async def test_one_cart_is_ordered_once_whatever_keys_its_checkouts_carry(
        orders: Orders, carts: FakeCarts, participants: Participants) -> None:
    # a second checkout sent before the cart applied the first one's confirmation (a double
    # click that made a new key, two tabs): the cart still holds its lines, at the same version
    carts.carts["u1"] = (LAMP,)
    carts.versions["u1"] = 3
    # no participant answers until all six are answered: a decline that ended the first order
    # before the last of them arrived would free the cart for it (rightly: a second 201)
    participants.paused = True
    results = await asyncio.gather(*(orders.checkout(key=f"tab-{n}", token="tok_decline",
                                                     wait=0) for n in range(6)))
    assert sorted(r.status for r in results) == [201] + [409] * 5, [r.body for r in results]
    (n,) = [n for n, r in enumerate(results) if r.status == 201]
    await participants.resume()
    placed = (await orders.checkout(key=f"tab-{n}", token="tok_decline")).body  # once final
    for refused in (r for r in results if r.status == 409):
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.body["type"].endswith("orders/cart-already-ordered")
        assert placed["id"] in refused.body["detail"], refused.body
    assert [m.order_id for m in participants.seen  # type: ignore[attr-defined]
            if isinstance(m, inventory.ReserveStock)] == [placed["id"]]
    assert placed["status"] == "CANCELLED"  # declined: the cart stays, and may be ordered again
    again = await orders.checkout(key="tab-again")
    assert again.status == 201 and again.body["status"] == "CONFIRMED", again.body
    refused = await orders.checkout(key="tab-late")  # the cart has not applied it yet
    assert refused.status == 409 and again.body["id"] in refused.body["detail"]


async def test_payment_past_its_deadline_cancels_and_the_late_authorization_is_voided(
        start_orders: StartOrders, carts: FakeCarts, participants: Participants) -> None:
    carts.carts["u1"] = (LAMP,)
    async with start_orders(authorize_timeout=0.5) as orders:
        reply = await orders.checkout(token="tok_timeout")
        assert reply.status == 201
        order = reply.body
        assert order["status"] == "CANCELLED" and order["reason"] == "payment-timeout"
        voids = participants.of(payments.VoidPayment, order["id"])
        assert len(voids) == 1 and len(participants.of(inventory.ReleaseStock, order["id"])) == 1
        await participants.release_late_authorizations()  # captured, late

        async def voided_again() -> bool:
            return len(participants.of(payments.VoidPayment, order["id"])) == 2

        await eventually(voided_again)
        assert (await orders.call("GET", f"/v1/orders/{order['id']}")).body["status"] == \
            "CANCELLED"
        assert "late payment capture; refunding it" in await journal_of(orders, order["id"])

        async def counted() -> bool:  # metrics are counted once the transaction committed
            metrics = (await orders.call("GET", "/metrics", user=None)).body
            return 'souk_saga_late_payment_replies_total{reply="payment-captured"} 1.0' in metrics

        await eventually(counted)


async def test_a_late_authorization_in_the_two_step_flow_is_voided(
        start_orders: StartOrders, carts: FakeCarts, participants: Participants) -> None:
    carts.carts["u1"] = (LAMP,)
    async with start_orders(authorize_timeout=0.5, capture_on_authorize=False) as orders:
        reply = await orders.checkout(token="tok_timeout")
        assert reply.status == 201 and reply.body["reason"] == "payment-timeout"
        order_id = reply.body["id"]
        await participants.release_late_authorizations()  # authorized, late

        async def voided_again() -> bool:
            return len(participants.of(payments.VoidPayment, order_id)) == 2

        await eventually(voided_again)
        assert "late payment authorization; voiding it" in await journal_of(orders, order_id)
        assert not participants.of(payments.CapturePayment, order_id)


async def test_a_restarted_orders_finishes_the_sagas_it_left(
        start_orders: StartOrders, carts: FakeCarts, participants: Participants) -> None:
    carts.carts.update({f"u{i}": (LAMP,) for i in range(5)})
    participants.silent = True  # the participants answer nothing while the first run is up
    async with start_orders() as orders:
        placed = [(await orders.checkout(user=f"u{i}", key=f"r{i}", wait=0)).body
                  for i in range(5)]
    assert all(o["status"] == "PENDING" for o in placed)
    participants.silent = False
    for o in placed:  # answers arrive while orders is down; they wait in the stream
        await participants.reply(f"{o['id']}.reserve", inventory.StockReserved(
            order_id=o["id"], idempotency_key=f"{o['id']}:reserve"))
    async with start_orders() as orders:

        async def all_confirmed() -> bool:
            statuses = [(await orders.call("GET", f"/v1/orders/{o['id']}",
                                           user=o["user_id"])).body["status"] for o in placed]
            return all(s == "CONFIRMED" for s in statuses)

        await eventually(all_confirmed, timeout=15)
