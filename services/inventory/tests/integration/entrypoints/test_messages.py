"""The saga's commands over a real nats-server: published to JetStream the way orders publishes
them, answered on the stream; duplicates neither reserve twice nor change the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import nats
import orjson
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from chassis.testing.service import RunningService, eventually
from contracts import Message, encode
from contracts.base import Line, PricedLine
from contracts.inventory import CommitReservation, ReleaseStock, ReserveStock
from contracts.orders import OrderConfirmed

from ..conftest import OrdersStandIn, StartInventory

pytestmark = pytest.mark.integration

COMMANDS = {ReserveStock.TYPE, ReleaseStock.TYPE, CommitReservation.TYPE}


@dataclass
class Running:
    service: RunningService
    nc: Client
    js: JetStreamContext
    replies: Any  # an ordered JetStream subscription on souk.inventory.>

    async def publish(self, message: Message, msg_id: str, nats_id: str | None = None) -> None:
        await self.js.publish(f"souk.{message.TYPE}", encode(message), headers={
            "Nats-Msg-Id": nats_id or msg_id, "Souk-Msg-Id": msg_id, "Souk-Type": message.TYPE,
            "Souk-Correlation-Id": getattr(message, "order_id", "")})

    async def next_reply(self, timeout: float = 10.0) -> tuple[str, str, dict[str, Any]]:
        """(type, message id, body) of the next message inventory published (the type is the
        subject after ``souk.``, the id its Nats-Msg-Id)."""
        while True:
            msg = await self.replies.next_msg(timeout=timeout)
            kind = msg.subject.removeprefix("souk.")
            if kind not in COMMANDS:  # skip the commands we published ourselves
                return kind, msg.headers["Nats-Msg-Id"], orjson.loads(msg.data)

    async def stock(self, sku: str) -> int:
        return int((await self.service.call("GET", f"/v1/stock/{sku}")).body["available"])

    async def stock_row(self, sku: str) -> dict[str, int]:
        page = (await self.service.call("GET", "/v1/admin/stock", roles=("admin",))).body
        [row] = [r for r in page["items"] if r["sku"] == sku]
        return {k: row[k] for k in ("initial", "available", "reserved", "sold")}


@pytest.fixture
async def inventory(start_inventory: StartInventory, nats_url: str) -> AsyncIterator[Running]:
    async with start_inventory(reservation_ttl=1.5, sweep_interval=0.1) as service:
        for sku, quantity in (("A-1", 10), ("B-1", 3)):
            await service.call("POST", f"/v1/admin/stock/{sku}/restock", {"quantity": quantity},
                               roles=("admin",))
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        replies = await js.subscribe("souk.inventory.>", ordered_consumer=True)
        try:
            yield Running(service, nc, js, replies)
        finally:
            await nc.close()


def reserve(order_id: str, *lines: tuple[str, int]) -> ReserveStock:
    return ReserveStock(order_id=order_id, idempotency_key=f"{order_id}:reserve",
                        lines=tuple(Line(sku=s, quantity=q) for s, q in lines))


async def test_reserve_is_answered_once_and_a_duplicate_reserves_nothing_more(
        inventory: Running) -> None:
    await inventory.publish(reserve("o-1", ("A-1", 4), ("B-1", 1)), "o-1.reserve")
    kind, msg_id, body = await inventory.next_reply()
    assert (kind, msg_id) == ("inventory.StockReserved.v1", "o-1.reserve.r")
    assert body == {"order_id": "o-1", "idempotency_key": "o-1:reserve"}
    assert await inventory.stock("A-1") == 6
    # the same message again (inbox drops it) and a re-send under a new id (same answer, no hold)
    await inventory.publish(reserve("o-1", ("A-1", 4), ("B-1", 1)), "o-1.reserve", "again")
    await inventory.publish(reserve("o-1", ("A-1", 4), ("B-1", 1)), "o-1.reserve.2")
    kind, msg_id, _ = await inventory.next_reply()
    assert (kind, msg_id) == ("inventory.StockReserved.v1", "o-1.reserve.2.r")
    assert await inventory.stock("A-1") == 6 and await inventory.stock("B-1") == 2


async def test_short_stock_is_rejected_and_release_before_reserve_refuses_it(
        inventory: Running) -> None:
    await inventory.publish(reserve("o-2", ("A-1", 1), ("B-1", 4)), "o-2.reserve")
    kind, _, body = await inventory.next_reply()
    assert kind == "inventory.StockRejected.v1"
    assert (body["reason"], body["skus"]) == ("insufficient-stock", ["B-1"])
    await inventory.publish(ReleaseStock(order_id="o-3", idempotency_key="o-3:release"),
                            "o-3.release.1")
    kind, msg_id, body = await inventory.next_reply()
    assert (kind, msg_id, body["idempotency_key"]) == (
        "inventory.StockReleased.v1", "o-3.release.1.r", "o-3:release")
    await inventory.publish(reserve("o-3", ("A-1", 1)), "o-3.reserve")
    kind, _, body = await inventory.next_reply()
    assert (kind, body["reason"]) == ("inventory.StockRejected.v1", "released")
    assert await inventory.stock("A-1") == 10


async def test_order_confirmed_commits_silently_and_an_unconfirmed_hold_expires(
        inventory: Running) -> None:
    await inventory.publish(reserve("o-4", ("A-1", 2)), "o-4.reserve")
    await inventory.publish(reserve("o-5", ("A-1", 3)), "o-5.reserve")
    assert [(await inventory.next_reply())[0] for _ in range(2)] == [
        "inventory.StockReserved.v1"] * 2
    line = PricedLine(sku="A-1", quantity=2, unit_price_minor=100)
    await inventory.publish(OrderConfirmed(order_id="o-4", user_id="u-1", lines=(line,),
                                           total_minor=200, currency="EUR", confirmed_at=0.0),
                            "o-4.confirmed")
    # no ReservationCommitted for the checkout's own commit: the next message is o-5 expiring
    kind, msg_id, body = await inventory.next_reply()  # after its 1.5 s TTL
    assert (kind, msg_id, body) == ("inventory.ReservationExpired.v1", "o-5.expired",
                                    {"order_id": "o-5"})
    assert await inventory.stock_row("A-1") == {"initial": 10, "available": 8, "reserved": 0,
                                                "sold": 2}


async def test_a_hold_outlives_its_ttl_while_orders_says_the_saga_runs(
        inventory: Running, orders: OrdersStandIn) -> None:
    """A paid order never ends without its units: the sweeper asks orders before a hold
    expires, and keeps the hold of a saga that may still confirm (a capture re-sent for longer
    than the TTL, say) until its OrderConfirmed commits it."""
    orders.statuses = {"o-7": "PAYMENT_AUTHORIZED", "o-8": "CANCELLED"}
    await inventory.publish(reserve("o-7", ("A-1", 6)), "o-7.reserve")
    await inventory.publish(reserve("o-8", ("A-1", 1)), "o-8.reserve")
    await inventory.publish(reserve("o-9", ("A-1", 1)), "o-9.reserve")  # unknown to orders
    assert [(await inventory.next_reply())[0] for _ in range(3)] == [
        "inventory.StockReserved.v1"] * 3
    expired = {(await inventory.next_reply())[1] for _ in range(2)}  # past the 1.5 s TTL
    assert expired == {"o-8.expired", "o-9.expired"}
    await inventory.publish(reserve("o-10", ("A-1", 5)), "o-10.reserve")  # o-7's are held
    kind, _, body = await inventory.next_reply()
    assert (kind, body["reason"]) == ("inventory.StockRejected.v1", "insufficient-stock")
    line = PricedLine(sku="A-1", quantity=6, unit_price_minor=100)
    await inventory.publish(OrderConfirmed(order_id="o-7", user_id="u-1", lines=(line,),
                                           total_minor=600, currency="EUR", confirmed_at=0.0),
                            "o-7.confirmed")

    async def sold() -> bool:
        return (await inventory.stock_row("A-1"))["sold"] == 6

    await eventually(sold)
    assert await inventory.stock_row("A-1") == {"initial": 10, "available": 4, "reserved": 0,
                                                "sold": 6}


async def test_commit_reservation_command_is_answered_and_idempotent(inventory: Running) -> None:
    await inventory.publish(reserve("o-6", ("B-1", 3)), "o-6.reserve")
    assert (await inventory.next_reply())[0] == "inventory.StockReserved.v1"
    for attempt in (1, 2):
        await inventory.publish(CommitReservation(order_id="o-6", idempotency_key="o-6:commit"),
                                f"ops.commit.{attempt}")
        kind, msg_id, body = await inventory.next_reply()
        assert (kind, msg_id, body["idempotency_key"]) == (
            "inventory.ReservationCommitted.v1", f"ops.commit.{attempt}.r", "o-6:commit")
    assert await inventory.stock_row("B-1") == {"initial": 3, "available": 0, "reserved": 0,
                                                "sold": 3}
