"""The inventory under test: the real app on uvicorn with a real nats-server and real SQLite or
PostgreSQL (the chassis's fixtures), and the SQL repository on a migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from chassis.db import Database, SqlUnitOfWork
from chassis.http import AiohttpTransport, ServiceClient, StaticDirectory
from chassis.messaging import MessageTx
from chassis.testing import TestIssuer, connected_database, free_port
from chassis.testing.service import RunningService, start_service
from inventory.adapters.orders import OrdersSagas
from inventory.adapters.sql import SqlInventory
from inventory.app import create_app
from inventory.service.ports import InventoryUnitOfWork, SkuSource
from inventory.settings import InventorySettings


def inventory_settings(database_url: str, nats_url: str, **overrides: Any) -> InventorySettings:
    values: dict[str, Any] = {"database_url": database_url, "nats_url": nats_url,
                              "registry_url": "", "log_level": "warning",
                              "seed_from_catalog": False}
    return InventorySettings(**(values | overrides))


StartInventory = Callable[..., AbstractAsyncContextManager[RunningService]]


class OrdersStandIn:
    """Orders' ``POST /v1/internal/sagas`` over real HTTP: ``statuses`` is what it knows."""

    def __init__(self) -> None:
        self.statuses: dict[str, str] = {}
        self.url = ""

    async def sagas(self, request: web.Request) -> web.Response:
        asked = (await request.json())["order_ids"]
        return web.json_response({"items": [
            {"order_id": o, "status": self.statuses[o]} for o in asked if o in self.statuses]})


@pytest.fixture
async def orders() -> AsyncIterator[OrdersStandIn]:
    stand_in = OrdersStandIn()
    app = web.Application()
    app.router.add_post("/v1/internal/sagas", stand_in.sagas)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stand_in.url = f"http://127.0.0.1:{port}"
    try:
        yield stand_in
    finally:
        await runner.cleanup()


@pytest.fixture
def start_inventory(database_url: str, nats_url: str, issuer: TestIssuer,
                    orders: OrdersStandIn) -> StartInventory:
    """``async with start_inventory(reservation_ttl=1.5, skus=...) as inventory:`` — a run of
    the inventory on this test's database and broker, with settings changed; it asks the
    ``orders`` stand-in which sagas run."""

    @asynccontextmanager
    async def start(skus: SkuSource | None = None,
                    **overrides: Any) -> AsyncIterator[RunningService]:
        async with aiohttp.ClientSession() as session:
            client = ServiceClient(AiohttpTransport(session),
                                   StaticDirectory({"orders": orders.url}), service="inventory")
            app = create_app(inventory_settings(database_url, nats_url, **overrides), skus=skus,
                             sagas=OrdersSagas(client))
            async with start_service(app, issuer) as running:
                yield running

    return start


@pytest.fixture
async def inventory(start_inventory: StartInventory) -> AsyncIterator[RunningService]:
    async with start_inventory() as running:
        yield running


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The migrated, empty inventory database, connected."""
    async with connected_database(database_url, "inventory") as db:
        yield db


def sql_uow(db: Database) -> InventoryUnitOfWork:
    """The SQL repository over plain transactions of ``db`` (what it publishes is dropped)."""

    @asynccontextmanager
    async def begin(*, readonly: bool = False) -> AsyncIterator[MessageTx]:
        async with db.transaction(readonly=readonly) as tx:
            yield MessageTx(tx, dialect=db.dialect)

    return SqlUnitOfWork(begin, SqlInventory)
