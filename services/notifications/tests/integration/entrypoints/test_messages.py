"""Orders' events over a real nats-server become exactly one mailbox message per order."""

from __future__ import annotations

import pytest

from chassis.testing.service import eventually

from ..conftest import Notifications, cancelled, confirmed

pytestmark = pytest.mark.integration


async def test_each_order_gets_exactly_one_terminal_message(
        notifications: Notifications) -> None:
    await notifications.publish(confirmed("o-1"), souk_id="o-1.confirmed")
    # the same message again under another Nats-Msg-Id: JetStream keeps both, the inbox drops one
    await notifications.publish(confirmed("o-1"), souk_id="o-1.confirmed",
                                nats_id="o-1.confirmed#2")
    # a second confirmation with another id: the unique key drops it
    await notifications.publish(confirmed("o-1"), souk_id="o-1.confirmed-again")
    await notifications.publish(cancelled("o-2", "bob"), souk_id="o-2.cancelled")
    # a confirmation after a cancellation (the saga never does this) adds nothing
    await notifications.publish(confirmed("o-2", "bob"), souk_id="o-2.confirmed")
    await notifications.publish(confirmed("o-9"), souk_id="o-9.confirmed")  # the last one

    async def last_one_applied() -> bool:
        return "o-9" in await notifications.by_order()

    await eventually(last_one_applied, timeout=15)
    assert await notifications.by_order() == {"o-1": ["order-confirmed"],
                                              "o-2": ["order-cancelled"],
                                              "o-9": ["order-confirmed"]}
    mine = (await notifications.call("GET", "/v1/notifications", user="alice")).body
    assert sorted(m["order_id"] for m in mine["items"]) == ["o-1", "o-9"]
    theirs = (await notifications.call("GET", "/v1/notifications", user="bob")).body
    assert [(m["order_id"], m["kind"]) for m in theirs["items"]] == [("o-2", "order-cancelled")]
    assert "payment declined" in theirs["items"][0]["body"]


async def test_an_event_that_is_not_a_valid_order_event_is_dead_lettered(
        notifications: Notifications) -> None:
    await notifications.nc.jetstream().publish(
        "souk.orders.OrderConfirmed.v1", b'{"order_id": "broken"}',
        headers={"Nats-Msg-Id": "bad.1", "Souk-Msg-Id": "bad.1",
                 "Souk-Type": "orders.OrderConfirmed.v1"})
    await notifications.publish(confirmed("o-1"), souk_id="o-1.confirmed")

    async def dead_lettered_and_next_applied() -> bool:
        # the broken event may come alone, in a batch before o-1's: wait for both
        state = await notifications.call("GET", "/v1/admin/messaging", roles=("admin",))
        return bool(state.body["dead_letters"] == 1) and bool(await notifications.by_order())

    await eventually(dead_lettered_and_next_applied, timeout=15)
    assert await notifications.by_order() == {"o-1": ["order-confirmed"]}
