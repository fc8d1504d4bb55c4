"""Orders under test: the real app on uvicorn, a real nats-server, real SQLite/PostgreSQL (the
chassis's fixtures), and scripted stand-ins for inventory and payments that answer the saga's
commands over JetStream."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import nats
import pytest

from chassis.testing import TestIssuer
from chassis.testing.service import Reply, RunningService, start_service
from contracts import Message, decode, encode, inventory, payments
from orders.app import create_app
from orders.domain.order import OrderLine
from orders.service.ports import CartSnapshot
from orders.settings import OrdersSettings

LAMP = OrderLine(sku="HOM-001", quantity=2, unit_price_minor=1250, name="Lamp")
OUT = OrderLine(sku="OUT-1", quantity=1, unit_price_minor=500)


class FakeCarts:
    """Carts by user (the real cart service is exercised in the system tests)."""

    def __init__(self) -> None:
        self.carts: dict[str, tuple[OrderLine, ...]] = {}
        # a version pinned per user; else every read is of a cart filled anew (a new version),
        # so one test can check out one user's cart more than once
        self.versions: dict[str, int] = {}
        self._filled = itertools.count(1001)

    async def priced_cart(self, user_id: str) -> CartSnapshot:
        lines = self.carts.get(user_id, ())
        return CartSnapshot(user_id=user_id, lines=lines,
                            total_minor=sum(x.total_minor for x in lines), currency="EUR",
                            version=self.versions.get(user_id) or next(self._filled))


_COMMANDS = {c.TYPE: c for c in (inventory.ReserveStock, inventory.ReleaseStock,
                                 payments.AuthorizePayment, payments.CapturePayment,
                                 payments.VoidPayment)}


@dataclass
class Participants:
    """Answers ReserveStock/ReleaseStock and the payment commands like the real services would,
    by rule: SKUs starting with OUT are out of stock; tok_decline is declined; tok_timeout gets
    no answer until ``release_late_authorizations``; an approved AuthorizePayment asked with
    ``capture`` is answered PaymentCaptured, unless ``only_authorize`` (a payments that predates
    the flag and ignores it)."""

    nc: Any
    seen: list[Message] = field(default_factory=list)
    held: list[payments.AuthorizePayment] = field(default_factory=list)
    silent: bool = False
    only_authorize: bool = False
    paused: bool = False  # commands wait in ``backlog`` until ``resume``
    backlog: list[Any] = field(default_factory=list)

    async def resume(self) -> None:
        """Answer the commands that arrived while ``paused``, and those to come."""
        self.paused = False
        backlog, self.backlog = self.backlog, []
        for msg in backlog:
            await self.on_message(msg)

    async def reply(self, command_id: str, message: Message) -> None:
        await self.nc.jetstream().publish(
            "souk." + message.TYPE, encode(message),
            headers={"Nats-Msg-Id": command_id + ".r", "Souk-Msg-Id": command_id + ".r",
                     "Souk-Type": message.TYPE,
                     "Souk-Correlation-Id": message.order_id})  # type: ignore[attr-defined]

    async def on_message(self, msg: Any) -> None:
        if self.paused:
            self.backlog.append(msg)
            return
        headers = msg.headers or {}
        model = _COMMANDS.get(msg.subject.removeprefix("souk."))
        if model is None:
            return
        command: Any = decode(msg.data, model)
        self.seen.append(command)
        if self.silent:
            return
        cid = headers["Nats-Msg-Id"]
        o, k = command.order_id, command.idempotency_key
        if isinstance(command, inventory.ReserveStock):
            if any(line.sku.startswith("OUT") for line in command.lines):
                await self.reply(cid, inventory.StockRejected(order_id=o, idempotency_key=k,
                                                              reason="insufficient-stock"))
            else:
                await self.reply(cid, inventory.StockReserved(order_id=o, idempotency_key=k))
        elif isinstance(command, inventory.ReleaseStock):
            await self.reply(cid, inventory.StockReleased(order_id=o, idempotency_key=k))
        elif isinstance(command, payments.AuthorizePayment):
            if command.card_token == "tok_timeout":
                self.held.append(command)
            elif command.card_token == "tok_decline":
                await self.reply(cid, payments.PaymentDeclined(order_id=o, idempotency_key=k,
                                                               reason="card-declined"))
            else:
                await self.reply(cid, self.approved(command))
        elif isinstance(command, payments.CapturePayment):
            await self.reply(cid, payments.PaymentCaptured(
                order_id=o, idempotency_key=k, payment_id=o, amount_minor=command.amount_minor,
                currency="EUR"))
        elif isinstance(command, payments.VoidPayment):
            await self.reply(cid, payments.PaymentVoided(order_id=o, idempotency_key=k,
                                                         outcome="nothing"))

    def approved(self, command: payments.AuthorizePayment) -> Message:
        """The answer to an approved authorization: captured in the same step when asked."""
        o, k = command.order_id, command.idempotency_key
        if command.capture and not self.only_authorize:
            return payments.PaymentCaptured(order_id=o, idempotency_key=k, payment_id=o,
                                            amount_minor=command.amount_minor,
                                            currency=command.currency)
        return payments.PaymentAuthorized(order_id=o, idempotency_key=k, payment_id=o,
                                          amount_minor=command.amount_minor,
                                          currency=command.currency)

    async def release_late_authorizations(self) -> None:
        for command in self.held:
            await self.reply(f"{command.order_id}.authorize", self.approved(command))
        self.held.clear()

    def of(self, model: type[Message], order_id: str) -> list[Message]:
        return [m for m in self.seen
                if isinstance(m, model) and m.order_id == order_id]  # type: ignore[attr-defined]


@pytest.fixture
async def participants(nats_url: str) -> AsyncIterator[Participants]:
    nc = await nats.connect(nats_url)
    p = Participants(nc)
    await nc.subscribe("souk.inventory.>", cb=p.on_message)
    await nc.subscribe("souk.payments.>", cb=p.on_message)
    yield p
    await nc.close()


@pytest.fixture
def carts() -> FakeCarts:
    return FakeCarts()


class Orders(RunningService):
    async def checkout(self, user: str = "u1", key: str = "k1", token: str = "tok_visa",
                       wait: float = 10) -> Reply:
        return await self.call("POST", "/v1/orders", {"card_token": token}, user=user,
                               headers={"Idempotency-Key": key, "Prefer": f"wait={wait:g}"})


StartOrders = Callable[..., AbstractAsyncContextManager[Orders]]


@pytest.fixture
def start_orders(database_url: str, nats_url: str, carts: FakeCarts,
                 issuer: TestIssuer) -> StartOrders:
    """``async with start_orders(authorize_timeout=0.5) as orders:`` — another run of orders on
    the same database and broker, with settings changed."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Orders]:
        values: dict[str, Any] = {"database_url": database_url, "nats_url": nats_url,
                                  "registry_url": "", "log_level": "warning",
                                  "sweep_interval": 0.05, **overrides}
        app = create_app(OrdersSettings(**values), carts=carts)
        async with start_service(app, issuer) as running:
            yield Orders(running.app, running.url, running.http, running.issuer)

    return start


@pytest.fixture
async def orders(start_orders: StartOrders, participants: Participants) -> AsyncIterator[Orders]:
    async with start_orders() as running:
        yield running
