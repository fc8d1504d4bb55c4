"""Choreography: an OrderConfirmed event (through the real outbox, JetStream and inbox) removes the
ordered lines from that user's cart, once."""

from __future__ import annotations

import asyncio
import time

import pytest

from contracts import PricedLine
from contracts.orders import OrderConfirmed

from .conftest import RunningCart

pytestmark = pytest.mark.integration


def confirmed(order_id: str, user_id: str, *skus: str) -> OrderConfirmed:
    return OrderConfirmed(order_id=order_id, user_id=user_id,
                          lines=tuple(PricedLine(sku=s, quantity=1, unit_price_minor=1)
                                      for s in skus),
                          total_minor=len(skus), currency="EUR", confirmed_at=time.time())


async def skus(cart: RunningCart, user: str) -> list[str]:
    return [i["sku"] for i in (await cart.call("GET", "/v1/cart", user=user))[1]["items"]]


async def test_order_confirmed_clears_the_ordered_lines(cart: RunningCart) -> None:
    await cart.put("KIT-0001", 1)
    await cart.put("KIT-0002", 2)
    await cart.put("BOOK-0001", 1, user="bob")
    await cart.put("KIT-0001", 1, user="bob")
    messaging = cart.app.state.runtime.messaging
    await messaging.wait_started(10)
    for _ in range(2):  # sent twice with one id: applied once
        async with messaging.transaction(correlation_id="o-1") as tx:
            tx.publish(confirmed("o-1", "alice", "KIT-0001", "BOOK-0001"),
                       msg_id="o-1.confirmed")
    deadline = time.monotonic() + 10
    while await skus(cart, "alice") != ["KIT-0002"]:
        assert time.monotonic() < deadline, "the cart was not cleared"
        await asyncio.sleep(0.05)
    assert await skus(cart, "bob") == ["BOOK-0001", "KIT-0001"]  # another user's cart is untouched
    _status, doc = await cart.call("GET", "/v1/cart")
    assert doc["version"] == 3  # two puts, one removal
