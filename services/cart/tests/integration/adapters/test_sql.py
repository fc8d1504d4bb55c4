"""The carts tables on real databases: a whole-cart replacement in one transaction answers what a
read gives, and versions count every change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from cart.adapters.sql import SqlCarts
from cart.domain.cart import CartLine
from cart.service.ports import CartRepository
from chassis.db import Database, SqlUnitOfWork, migrate, open_database, service_migrations

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
async def carts(database_url: str) -> AsyncIterator[SqlUnitOfWork[CartRepository]]:
    await migrate(database_url, service_migrations("cart"))
    db: Database = open_database(database_url)
    await db.connect()
    try:
        yield SqlUnitOfWork(db.transaction, SqlCarts)
    finally:
        await db.close()


async def test_a_replacement_answers_what_a_read_gives(
        carts: SqlUnitOfWork[CartRepository]) -> None:
    async with carts() as repo:
        await repo.set_quantity("alice", "OLD-1", 1, NOW)
        await repo.lock("alice", NOW)
    async with carts() as repo:
        replaced = await repo.replace(
            "alice", [CartLine("KIT-2", 2), CartLine("BOOK-1", 1), CartLine("KIT-1", 3)], NOW)
    async with carts(readonly=True) as repo:
        assert await repo.get("alice") == replaced
    assert [line.sku for line in replaced.lines] == ["BOOK-1", "KIT-1", "KIT-2"]
    assert replaced.version == 2
    async with carts() as repo:
        emptied = await repo.replace("alice", [], NOW)
    async with carts(readonly=True) as repo:
        assert await repo.get("alice") == emptied
        assert (emptied.lines, emptied.version) == ((), 3)
        assert (await repo.get("bob")).version == 0


async def test_a_replacement_over_lines_it_shares_holds_exactly_its_lines(
        carts: SqlUnitOfWork[CartRepository]) -> None:
    async with carts() as repo:
        await repo.replace("alice", [CartLine("KIT-1", 1), CartLine("KIT-2", 2)], NOW)
    async with carts() as repo:
        replaced = await repo.replace("alice", [CartLine("KIT-2", 5), CartLine("BOOK-1", 1)], NOW)
    async with carts(readonly=True) as repo:
        assert await repo.get("alice") == replaced
    assert replaced.lines == (CartLine("BOOK-1", 1), CartLine("KIT-2", 5))


async def test_a_failed_replacement_leaves_the_cart_as_it_was(
        carts: SqlUnitOfWork[CartRepository]) -> None:
    async with carts() as repo:
        before = await repo.replace("alice", [CartLine("KIT-1", 1)], NOW)
    with pytest.raises(RuntimeError):
        async with carts() as repo:
            await repo.replace("alice", [CartLine("KIT-2", 5)], NOW)
            raise RuntimeError("boom")
    async with carts(readonly=True) as repo:
        assert await repo.get("alice") == before
