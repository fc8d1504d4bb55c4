"""Choreography: an OrderConfirmed event (through the real outbox, JetStream and inbox) removes the
ordered lines from that user's cart, once."""

from __future__ import annotations

import time

import msgspec
import nats
import pytest

from chassis.testing.service import eventually
from contracts import PricedLine, encode
from contracts.orders import OrderConfirmed

from ..conftest import Cart

pytestmark = pytest.mark.integration


def confirmed(order_id: str, user_id: str, *skus: str,
              cart_version: int | None = None) -> OrderConfirmed:
    return OrderConfirmed(order_id=order_id, user_id=user_id,
                          lines=tuple(PricedLine(sku=s, quantity=1, unit_price_minor=1)
                                      for s in skus),
                          total_minor=len(skus), currency="EUR", confirmed_at=time.time(),
                          cart_version=cart_version)


async def skus(cart: Cart, user: str) -> list[str]:
    return [i["sku"] for i in (await cart.get(user=user)).body["items"]]


async def test_order_confirmed_clears_the_ordered_lines_once(cart: Cart) -> None:
    await cart.put("KIT-0001", 1)
    await cart.put("KIT-0002", 2)
    await cart.put("BOOK-0001", 1, user="bob")
    await cart.put("KIT-0001", 1, user="bob")
    messaging = cart.app.runtime.messaging
    for _ in range(2):  # sent twice with one id: applied once
        async with messaging.transaction(correlation_id="o-1") as tx:
            tx.publish(confirmed("o-1", "alice", "KIT-0001", "BOOK-0001"),
                       msg_id="o-1.confirmed")

    async def cleared() -> bool:
        return await skus(cart, "alice") == ["KIT-0002"]

    await eventually(cleared)
    assert await skus(cart, "bob") == ["BOOK-0001", "KIT-0001"]  # another user's cart is untouched
    assert (await cart.get()).body["version"] == 3  # two puts, one removal


async def test_an_order_of_lines_no_longer_in_the_cart_changes_nothing(cart: Cart) -> None:
    await cart.put("KIT-0002", 1)
    messaging = cart.app.runtime.messaging
    async with messaging.transaction(correlation_id="o-2") as tx:
        tx.publish(confirmed("o-2", "alice", "KIT-0001"), msg_id="o-2.confirmed")
        tx.publish(confirmed("o-3", "alice", "KIT-0002"), msg_id="o-3.confirmed")

    async def cleared() -> bool:
        return await skus(cart, "alice") == []

    await eventually(cleared)  # o-3, published after o-2, has been applied: so has o-2
    assert (await cart.get()).body["version"] == 2  # one put, one removal: o-2 bumped nothing


async def test_what_the_buyer_added_since_the_order_stays_in_the_cart(cart: Cart) -> None:
    # the order took one KIT-0001; before it was confirmed the buyer raised the line to three
    await cart.put("KIT-0001", 3)
    await cart.put("KIT-0002", 1)
    messaging = cart.app.runtime.messaging
    async with messaging.transaction(correlation_id="o-4") as tx:
        tx.publish(confirmed("o-4", "alice", "KIT-0001", "KIT-0002"), msg_id="o-4.confirmed")

    async def taken() -> bool:
        return await skus(cart, "alice") == ["KIT-0001"]

    await eventually(taken)
    body = (await cart.get()).body
    assert [(i["sku"], i["quantity"]) for i in body["items"]] == [("KIT-0001", 2)]
    assert body["version"] == 3  # two puts, one change


async def test_a_line_set_again_after_the_order_stays_and_an_unchanged_one_goes(
        cart: Cart) -> None:
    await cart.put("KIT-0001", 1)
    await cart.put("KIT-0002", 1)  # version 2: the order is taken from this cart
    await cart.put("KIT-0001", 1)  # version 3: the same line again, for the next order
    messaging = cart.app.runtime.messaging
    async with messaging.transaction(correlation_id="o-5") as tx:
        tx.publish(confirmed("o-5", "alice", "KIT-0001", "KIT-0002", cart_version=2),
                   msg_id="o-5.confirmed")

    async def applied() -> bool:
        return await skus(cart, "alice") == ["KIT-0001"]

    await eventually(applied)
    body = (await cart.get()).body
    assert [(i["sku"], i["quantity"]) for i in body["items"]] == [("KIT-0001", 1)]
    assert body["version"] == 4  # three puts, one removal
    async with messaging.transaction(correlation_id="o-6") as tx:  # the next order's
        tx.publish(confirmed("o-6", "alice", "KIT-0001", cart_version=4), msg_id="o-6.confirmed")

    async def cleared() -> bool:
        return await skus(cart, "alice") == []

    await eventually(cleared)


async def test_an_order_whose_lines_were_all_set_since_changes_nothing(cart: Cart) -> None:
    await cart.put("KIT-0001", 1)  # version 1: the order's
    await cart.put("KIT-0001", 2)
    await cart.put("KIT-0001", 1, user="bob")
    messaging = cart.app.runtime.messaging
    async with messaging.transaction(correlation_id="o-7") as tx:
        tx.publish(confirmed("o-7", "alice", "KIT-0001", cart_version=1), msg_id="o-7.confirmed")
        tx.publish(confirmed("o-8", "bob", "KIT-0001"), msg_id="o-8.confirmed")

    async def after_o8() -> bool:  # o-8, published after o-7, has been applied: so has o-7
        return await skus(cart, "bob") == []

    await eventually(after_o8)
    body = (await cart.get()).body
    assert [(i["sku"], i["quantity"]) for i in body["items"]] == [("KIT-0001", 2)]
    assert body["version"] == 2  # two puts; o-7 bumped nothing


async def test_a_confirmation_from_an_older_orders_takes_the_ordered_quantity(
        cart: Cart, nats_url: str) -> None:
    # as before cart versions travelled: the line set again at the same quantity goes with it
    await cart.put("KIT-0001", 1)
    await cart.put("KIT-0001", 1)
    await cart.put("KIT-0002", 3)
    old = msgspec.json.decode(encode(confirmed("o-9", "alice", "KIT-0001", "KIT-0002")))
    del old["cart_version"]  # an older sender's message has no such field
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(
            "souk." + OrderConfirmed.TYPE, msgspec.json.encode(old),
            headers={"Nats-Msg-Id": "o-9.confirmed", "Souk-Msg-Id": "o-9.confirmed",
                     "Souk-Type": OrderConfirmed.TYPE, "Souk-Correlation-Id": "o-9"})
    finally:
        await nc.close()

    async def taken() -> bool:
        return await skus(cart, "alice") == ["KIT-0002"]

    await eventually(taken)
    body = (await cart.get()).body
    assert [(i["sku"], i["quantity"]) for i in body["items"]] == [("KIT-0002", 2)]
    assert body["version"] == 4
