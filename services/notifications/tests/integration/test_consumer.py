"""Orders' events over a real nats-server become exactly one mailbox message per order."""

from __future__ import annotations

import time

import pytest

from contracts.base import PricedLine
from contracts.orders import OrderCancelled, OrderConfirmed

from .conftest import ISSUER, RunningService, eventually

pytestmark = pytest.mark.integration

ADMIN = ISSUER.mint(sub="admin-1", roles=("admin",))
LINES = (PricedLine(sku="KIT-0001", quantity=2, unit_price_minor=1000, name="Knife"),)


def confirmed(order_id: str, user_id: str = "alice") -> OrderConfirmed:
    return OrderConfirmed(order_id=order_id, user_id=user_id, lines=LINES, total_minor=2000,
                          currency="EUR", confirmed_at=time.time())


def cancelled(order_id: str, user_id: str = "alice") -> OrderCancelled:
    return OrderCancelled(order_id=order_id, user_id=user_id, lines=LINES, total_minor=2000,
                          currency="EUR", reason="payment declined", cancelled_at=time.time())


async def by_order(service: RunningService) -> dict[str, list[str]]:
    _, _, body = await service.get("/v1/admin/notifications", ADMIN)
    return {item["order_id"]: item["kinds"] for item in body["items"]}


async def test_each_order_gets_exactly_one_terminal_message(service: RunningService) -> None:
    await service.publish(confirmed("o-1"), souk_id="o-1.confirmed")
    # the same message again under another Nats-Msg-Id: JetStream keeps both, the inbox drops one
    await service.publish(confirmed("o-1"), souk_id="o-1.confirmed", nats_id="o-1.confirmed#2")
    # a second confirmation with another id: the unique key drops it
    await service.publish(confirmed("o-1"), souk_id="o-1.confirmed-again")
    await service.publish(cancelled("o-2", "bob"), souk_id="o-2.cancelled")
    # a confirmation after a cancellation (the saga never does this) adds nothing
    await service.publish(confirmed("o-2", "bob"), souk_id="o-2.confirmed")
    await service.publish(confirmed("o-9"), souk_id="o-9.confirmed")  # the last one

    async def last_one_applied() -> bool:
        return "o-9" in await by_order(service)

    await eventually(last_one_applied)
    assert await by_order(service) == {"o-1": ["order-confirmed"], "o-2": ["order-cancelled"],
                                       "o-9": ["order-confirmed"]}
    _, _, mailbox = await service.get("/v1/notifications", ISSUER.mint(sub="alice"))
    assert sorted(m["order_id"] for m in mailbox["items"]) == ["o-1", "o-9"]
    _, _, theirs = await service.get("/v1/notifications", ISSUER.mint(sub="bob"))
    assert [(m["order_id"], m["kind"]) for m in theirs["items"]] == [("o-2", "order-cancelled")]
    assert "payment declined" in theirs["items"][0]["body"]
