"""The SQL repository against real SQLite and PostgreSQL: the use cases, the CHECK constraints,
and concurrent reservations of the last units."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from chassis.db import Database
from inventory.domain.reservations import Status
from inventory.domain.stock import INSUFFICIENT_STOCK, UNKNOWN_SKU, Rejection
from inventory.service import stock
from inventory.service.ports import InventoryUnitOfWork
from inventory.service.reservations import (
    CommitOutcome,
    ReleaseOutcome,
    commit_reservation,
    expire_reservations,
    release_stock,
    reserve_stock,
)
from inventory.service.seeding import seed_stock

from ..conftest import sql_uow

pytestmark = pytest.mark.integration

TTL = timedelta(seconds=900)


def now() -> datetime:
    return datetime.now(UTC)


async def counts(uow: InventoryUnitOfWork, sku: str) -> tuple[int, int, int, int]:
    level = await stock.get_stock(uow, sku)
    return level.initial, level.available, level.reserved, level.sold


async def reserve(uow: InventoryUnitOfWork, order_id: str, *lines: tuple[str, int],
                  at: datetime | None = None) -> Rejection | None:
    async with uow() as store:
        return await reserve_stock(store, order_id, f"{order_id}:reserve", lines, at or now(), TTL)


class Skus:
    def __init__(self, *skus: str) -> None:
        self.skus = list(skus)

    async def all_skus(self) -> list[str]:
        return self.skus


@pytest.fixture
async def uow(database: Database) -> InventoryUnitOfWork:
    uow = sql_uow(database)
    await seed_stock(uow, Skus("A-1", "B-1"), 10)
    return uow


async def test_seeding_twice_adds_each_sku_once_and_keeps_counts(uow: InventoryUnitOfWork) -> None:
    await stock.restock(uow, "A-1", 5)
    await seed_stock(uow, Skus("A-1", "B-1", "C-1"), 10)
    assert await counts(uow, "A-1") == (15, 15, 0, 0)
    assert await counts(uow, "C-1") == (10, 10, 0, 0)


async def test_reserve_release_commit_move_the_counts(uow: InventoryUnitOfWork) -> None:
    assert await reserve(uow, "o-1", ("A-1", 3), ("B-1", 2), ("A-1", 1)) is None
    assert await counts(uow, "A-1") == (10, 6, 4, 0)
    assert await reserve(uow, "o-1", ("A-1", 4), ("B-1", 2)) is None  # repeat: held once
    assert await counts(uow, "A-1") == (10, 6, 4, 0)
    assert await reserve(uow, "o-2", ("A-1", 2)) is None
    async with uow() as store:
        assert await release_stock(store, "o-1", "o-1:release", now()) is ReleaseOutcome.RELEASED
        assert await commit_reservation(store, "o-2", now()) is CommitOutcome.COMMITTED
    assert await counts(uow, "A-1") == (10, 8, 0, 2)
    assert await counts(uow, "B-1") == (10, 10, 0, 0)
    async with uow() as store:
        assert await release_stock(store, "o-1", "k", now()) is ReleaseOutcome.UNCHANGED
        assert await release_stock(store, "o-2", "k", now()) is ReleaseOutcome.COMMITTED
        assert await commit_reservation(store, "o-2", now()) is CommitOutcome.ALREADY_COMMITTED
    assert await counts(uow, "A-1") == (10, 8, 0, 2)


async def test_rejections_hold_nothing_and_are_remembered(uow: InventoryUnitOfWork) -> None:
    assert await reserve(uow, "o-1", ("A-1", 3), ("B-1", 11)) == Rejection(
        INSUFFICIENT_STOCK, ("B-1",))
    assert await reserve(uow, "o-2", ("A-1", 3), ("Z-9", 1)) == Rejection(UNKNOWN_SKU, ("Z-9",))
    assert await counts(uow, "A-1") == (10, 10, 0, 0)
    assert await reserve(uow, "o-1", ("A-1", 1)) == Rejection(INSUFFICIENT_STOCK)
    page = await stock.list_reservations(uow)
    assert [(r.order_id, r.status, r.reason) for r in page.items] == [
        ("o-1", Status.REJECTED, INSUFFICIENT_STOCK), ("o-2", Status.REJECTED, UNKNOWN_SKU)]


async def test_a_tombstone_refuses_the_late_reserve(uow: InventoryUnitOfWork) -> None:
    async with uow() as store:
        assert await release_stock(store, "o-1", "o-1:release", now()) is ReleaseOutcome.TOMBSTONED
    assert await reserve(uow, "o-1", ("A-1", 3)) == Rejection("released")
    assert await counts(uow, "A-1") == (10, 10, 0, 0)
    tomb = (await stock.list_reservations(uow)).items[0]
    assert (tomb.status, dict(tomb.lines), tomb.expires_at) == (Status.RELEASED, {}, None)


async def test_expiry_returns_the_units_and_a_late_confirmation_sells_from_available(
        uow: InventoryUnitOfWork) -> None:
    start = now()
    await reserve(uow, "o-1", ("A-1", 4), at=start)
    await reserve(uow, "o-2", ("A-1", 1), at=start + timedelta(seconds=5))
    async with uow() as store:
        early = start + TTL - timedelta(seconds=1)
        assert await store.due(early, 100) == []
        assert await expire_reservations(store, ["o-1", "o-2"], early) == []
        assert await store.due(start + TTL, 100) == ["o-1"]
        assert await expire_reservations(store, ["o-1", "o-2"], start + TTL) == ["o-1"]
        assert await expire_reservations(store, ["o-1"], start + TTL) == []
    assert await counts(uow, "A-1") == (10, 9, 1, 0)
    assert await reserve(uow, "o-1", ("A-1", 4)) == Rejection("expired")
    async with uow() as store:
        assert await commit_reservation(store, "o-1", now()) is CommitOutcome.COMMITTED_AFTER_EXPIRY
    assert await counts(uow, "A-1") == (10, 5, 1, 4)


async def test_a_held_on_reservation_is_due_again_only_at_its_new_time(
        uow: InventoryUnitOfWork) -> None:
    start = now()
    await reserve(uow, "o-1", ("A-1", 4), at=start)
    async with uow() as store:
        await store.extend(["o-1", "o-unknown"], start + 2 * TTL)
        assert await store.due(start + TTL, 100) == []
        assert await expire_reservations(store, ["o-1"], start + TTL) == []
        assert await store.due(start + 2 * TTL, 100) == ["o-1"]
    assert await counts(uow, "A-1") == (10, 6, 4, 0)


async def test_the_database_refuses_negative_or_unbalanced_stock(
        uow: InventoryUnitOfWork, database: Database) -> None:
    for sql in ("UPDATE stock SET available = available - 11, sold = sold + 11 WHERE sku = 'A-1'",
                "UPDATE stock SET available = available - 1 WHERE sku = 'A-1'",
                "UPDATE stock SET reserved = reserved - 1, available = available + 1 "
                "WHERE sku = 'A-1'"):
        with pytest.raises(Exception, match=r"(?i)check|constraint"):
            async with database.transaction() as tx:
                await tx.execute(sql)
    assert await counts(uow, "A-1") == (10, 10, 0, 0)


async def test_concurrent_reserves_of_the_last_units_let_exactly_one_through(
        uow: InventoryUnitOfWork) -> None:
    answers = await asyncio.gather(*(reserve(uow, f"o-{i}", ("B-1", 4), ("A-1", 1))
                                     for i in range(5)))
    assert sum(a is None for a in answers) == 2
    assert await counts(uow, "B-1") == (10, 2, 8, 0)


async def test_restock_and_pages(uow: InventoryUnitOfWork) -> None:
    level = await stock.restock(uow, "N-1", 7)
    assert (level.initial, level.available) == (7, 7)
    level = await stock.restock(uow, "A-1", 5)
    assert (level.initial, level.available, level.reserved, level.sold) == (15, 15, 0, 0)
    first = await stock.list_stock(uow, None, 2)
    assert [s.sku for s in first.items] == ["A-1", "B-1"] and first.more
    rest = await stock.list_stock(uow, first.items[-1].sku, 2)
    assert [s.sku for s in rest.items] == ["N-1"] and not rest.more
