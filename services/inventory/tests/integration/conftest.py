"""The inventory under test: the real app on uvicorn with a real nats-server and real SQLite or
PostgreSQL (the chassis's fixtures), and the SQL repository on a migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from chassis.db import Database, SqlUnitOfWork, migrate, open_database, service_migrations
from chassis.messaging import MessageTx
from chassis.testing import TestIssuer
from chassis.testing.service import RunningService, start_service
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


@pytest.fixture
def start_inventory(database_url: str, nats_url: str, issuer: TestIssuer) -> StartInventory:
    """``async with start_inventory(reservation_ttl=1.5, skus=...) as inventory:`` — a run of
    the inventory on this test's database and broker, with settings changed."""

    @asynccontextmanager
    async def start(skus: SkuSource | None = None,
                    **overrides: Any) -> AsyncIterator[RunningService]:
        app = create_app(inventory_settings(database_url, nats_url, **overrides), skus=skus)
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
    await migrate(database_url, service_migrations("inventory"))
    db = open_database(database_url)
    await db.connect()
    try:
        yield db
    finally:
        await db.close()


def sql_uow(db: Database) -> InventoryUnitOfWork:
    """The SQL repository over plain transactions of ``db`` (what it publishes is dropped)."""

    @asynccontextmanager
    async def begin(*, readonly: bool = False) -> AsyncIterator[MessageTx]:
        async with db.transaction(readonly=readonly) as tx:
            yield MessageTx(tx, dialect=db.dialect)

    return SqlUnitOfWork(begin, SqlInventory)
