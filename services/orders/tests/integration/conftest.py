"""Orders under test: the real app on uvicorn, a real nats-server, real SQLite/PostgreSQL, and
scripted stand-ins for inventory and payments that answer the saga's commands over JetStream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import nats
import pytest
from fastapi import FastAPI

from chassis.testing import TestIssuer, nats_server, serve_app, temporary_database
from contracts import Message, inventory, payments
from orders.app import create_app
from orders.domain.order import OrderLine
from orders.service.ports import CartSnapshot
from orders.settings import OrdersSettings

ISSUER = TestIssuer()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with temporary_database(request.param, tmp_path, "orders") as url:
        yield url


@pytest.fixture
def nats_url() -> Iterator[str]:
    with nats_server() as url:
        yield url


class FakeCarts:
    """Carts by user (the real cart service is exercised in the system tests)."""

    def __init__(self) -> None:
        self.carts: dict[str, tuple[OrderLine, ...]] = {}
        self.reads = 0

    async def priced_cart(self, user_id: str) -> CartSnapshot:
        self.reads += 1
        lines = self.carts.get(user_id, ())
        return CartSnapshot(user_id=user_id, lines=lines,
                            total_minor=sum(x.total_minor for x in lines), currency="EUR", version=1)


@dataclass
class Participants:
    """Answers ReserveStock/ReleaseStock and the payment commands like the real services would,
    by rule: SKUs starting with OUT are out of stock; tok_decline is declined; tok_timeout gets
    no answer until ``release_late_authorizations``."""

    nc: Any
    seen: list[Message] = field(default_factory=list)
    held: list[payments.AuthorizePayment] = field(default_factory=list)
    silent: bool = False

    async def reply(self, command_id: str, message: Message) -> None:
        await self.nc.jetstream().publish(
            "souk." + message.TYPE, message.model_dump_json().encode(),
            headers={"Nats-Msg-Id": command_id + ".r", "Souk-Msg-Id": command_id + ".r",
                     "Souk-Type": message.TYPE, "Souk-Correlation-Id": message.order_id})  # type: ignore[attr-defined]

    async def on_message(self, msg: Any) -> None:
        headers = msg.headers or {}
        kind = headers.get("Souk-Type", "")
        model = {c.TYPE: c for c in (inventory.ReserveStock, inventory.ReleaseStock,
                                     payments.AuthorizePayment, payments.CapturePayment,
                                     payments.VoidPayment)}.get(kind)
        if model is None:
            return
        command = model.model_validate_json(msg.data)
        self.seen.append(command)
        if self.silent:
            return
        cid = headers["Souk-Msg-Id"]
        o, k = command.order_id, command.idempotency_key  # type: ignore[attr-defined]
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
                await self.reply(cid, payments.PaymentAuthorized(
                    order_id=o, idempotency_key=k, payment_id=o, amount_minor=command.amount_minor,
                    currency=command.currency))
        elif isinstance(command, payments.CapturePayment):
            await self.reply(cid, payments.PaymentCaptured(
                order_id=o, idempotency_key=k, payment_id=o, amount_minor=command.amount_minor,
                currency="EUR"))
        elif isinstance(command, payments.VoidPayment):
            await self.reply(cid, payments.PaymentVoided(order_id=o, idempotency_key=k,
                                                         outcome="nothing"))

    async def release_late_authorizations(self) -> None:
        for command in self.held:
            await self.reply(f"{command.order_id}.authorize", payments.PaymentAuthorized(
                order_id=command.order_id, idempotency_key=command.idempotency_key,
                payment_id=command.order_id, amount_minor=command.amount_minor,
                currency=command.currency))
        self.held.clear()

    def of(self, model: type[Message], order_id: str) -> list[Message]:
        return [m for m in self.seen if isinstance(m, model) and m.order_id == order_id]  # type: ignore[attr-defined]


@pytest.fixture
async def participants(nats_url: str) -> AsyncIterator[Participants]:
    nc = await nats.connect(nats_url)
    p = Participants(nc)
    await nc.subscribe("souk.inventory.>", cb=p.on_message)
    await nc.subscribe("souk.payments.>", cb=p.on_message)
    yield p
    await nc.close()


def orders_settings(database_url: str, nats_url: str, **overrides: Any) -> OrdersSettings:
    values: dict[str, Any] = {"database_url": database_url, "nats_url": nats_url,
                              "registry_url": "", "log_level": "warning", "sweep_interval": 0.05}
    values.update(overrides)
    return OrdersSettings(**values)


def with_test_issuer(app: FastAPI) -> FastAPI:
    app.state.runtime.verifier = ISSUER.verifier()
    return app


@dataclass
class RunningOrders:
    http: aiohttp.ClientSession
    app: FastAPI
    carts: FakeCarts

    async def call(self, method: str, path: str, user: str = "u1", body: Any = None,
                   headers: dict[str, str] | None = None, roles: tuple[str, ...] = ("customer",),
                   ) -> tuple[int, Any, Any]:
        hdrs = {"Authorization": f"Bearer {ISSUER.mint(sub=user, roles=roles)}", **(headers or {})}
        async with self.http.request(method, path, json=body, headers=hdrs) as response:
            return response.status, response.headers, await response.json(content_type=None)

    async def checkout(self, user: str = "u1", key: str = "k1", token: str = "tok_visa",
                       wait: float = 10) -> tuple[int, Any]:
        status, _, body = await self.call("POST", "/v1/orders", user, {"card_token": token},
                                          {"Idempotency-Key": key, "Prefer": f"wait={wait:g}"})
        return status, body


@pytest.fixture
async def running(database_url: str, nats_url: str,
                  participants: Participants) -> AsyncIterator[RunningOrders]:
    carts = FakeCarts()
    app = with_test_issuer(create_app(orders_settings(database_url, nats_url), carts=carts))
    async with serve_app(app) as url, aiohttp.ClientSession(base_url=url) as http:
        await app.state.runtime.messaging.wait_started(10)
        yield RunningOrders(http=http, app=app, carts=carts)


async def eventually(predicate: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached in time")
