"""The carts tables on real databases: a whole-cart replacement in one transaction answers what a
read gives, and versions count every change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from cart.adapters.sql import SqlCarts
from cart.domain.cart import CartLine
from cart.service.ports import CartRepository
from chassis.db import SqlUnitOfWork
from chassis.testing import connected_database

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
async def carts(database_url: str) -> AsyncIterator[SqlUnitOfWork[CartRepository]]:
    async with connected_database(database_url, "cart") as db:
        yield SqlUnitOfWork(db.transaction, SqlCarts)


async def test_a_replacement_answers_what_a_read_gives(
        carts: SqlUnitOfWork[CartRepository]) -> None:
    async with carts() as repo:
        await repo.set_quantity("alice", "OLD-1", 1, NOW, 1)
        await repo.lock("alice", NOW)
    async with carts() as repo:
        replaced = await repo.replace(
            "alice", [CartLine("KIT-2", 2), CartLine("BOOK-1", 1), CartLine("KIT-1", 3)], NOW)
    async with carts(readonly=True) as repo:
        read = await repo.get("alice")
    assert read == replaced
    assert [line.version for line in read.lines] == [line.version for line in replaced.lines]
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


async def versions(carts: SqlUnitOfWork[CartRepository]) -> list[tuple[str, int, int | None]]:
    async with carts(readonly=True) as repo:
        return [(line.sku, line.quantity, line.version)
                for line in (await repo.get("alice")).lines]


async def test_each_write_of_a_line_records_the_carts_version_as_its_own(
        carts: SqlUnitOfWork[CartRepository]) -> None:
    async with carts() as repo:
        await repo.replace("alice", [CartLine("KIT-1", 1), CartLine("KIT-2", 2)], NOW)
    assert await versions(carts) == [("KIT-1", 1, 1), ("KIT-2", 2, 1)]
    async with carts() as repo:
        cart = await repo.lock("alice", NOW)
        await repo.set_quantity("alice", "KIT-2", 2, NOW, cart.version)  # the same quantity
    assert await versions(carts) == [("KIT-1", 1, 1), ("KIT-2", 2, 2)]
    async with carts() as repo:  # a line kept by a replacement is set again
        await repo.replace("alice", [CartLine("KIT-1", 1), CartLine("BOOK-1", 1)], NOW)
    assert sorted(await versions(carts)) == [("BOOK-1", 1, 3), ("KIT-1", 1, 3)]


async def test_only_the_lines_not_set_since_a_version_are_removed(
        carts: SqlUnitOfWork[CartRepository]) -> None:
    async with carts() as repo:
        await repo.replace("alice", [CartLine("KIT-1", 1), CartLine("KIT-2", 2),
                                     CartLine("KIT-3", 1)], NOW)
        cart = await repo.lock("alice", NOW)
        await repo.set_quantity("alice", "KIT-2", 2, NOW, cart.version)
    async with carts() as repo:
        await repo.touch("alice", NOW)
        assert await repo.remove_unchanged("alice", ["KIT-1", "KIT-2", "GONE-1"], 1) == 1
    assert await versions(carts) == [("KIT-2", 2, 2), ("KIT-3", 1, 1)]
