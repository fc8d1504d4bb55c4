"""The instances table (adapters/sql.py) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chassis.db import Database, SqlUnitOfWork, migrate, open_database, service_migrations
from registry.adapters.sql import SqlInstances
from registry.domain.directory import Instance
from registry.service.ports import InstancesUnitOfWork

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await migrate(database_url, service_migrations("registry"))
    database = open_database(database_url)
    await database.connect()
    yield database
    await database.close()


async def test_saves_loads_replaces_and_deletes_instances(db: Database) -> None:
    uow: InstancesUnitOfWork = SqlUnitOfWork(db.transaction, SqlInstances)
    first = Instance("catalog-1", "catalog", "http://127.0.0.1:1", "passing", 100.5, 100.5,
                     {"version": "1", "zone": "é"})
    async with uow() as instances:
        await instances.save(first)
        await instances.save(Instance("cart-1", "cart", "http://127.0.0.1:2", "passing", 7.0,
                                      7.0))
    async with uow() as instances:  # a re-registration replaces the row
        await instances.save(Instance("catalog-1", "catalog", "http://127.0.0.1:3", "passing",
                                      100.5, 200.0, {}))
        await instances.delete(["cart-1"])
    async with uow(readonly=True) as instances:
        assert await instances.load() == [
            Instance("catalog-1", "catalog", "http://127.0.0.1:3", "passing", 100.5, 100.5, {})]


async def test_keeps_how_often_an_instance_restarted(db: Database) -> None:
    uow: InstancesUnitOfWork = SqlUnitOfWork(db.transaction, SqlInstances)
    restarted = Instance("orders-1", "orders", "http://127.0.0.1:1", "passing", 5.0, 5.0,
                         {"started_at": "9.5"}, restarts=3)
    async with uow() as instances:
        await instances.save(restarted)
    async with uow(readonly=True) as instances:
        assert await instances.load() == [restarted]
