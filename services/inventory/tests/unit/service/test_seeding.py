"""Stocking the catalog's SKUs once (service/seeding.py), against in-memory fakes."""

from __future__ import annotations

import pytest

from inventory.service.seeding import SeedNotDone, StockSeeder, seed_stock

from .conftest import InMemoryInventory

pytestmark = pytest.mark.unit


class FlakyCatalog:
    def __init__(self, skus: list[str], failures: int = 0) -> None:
        self.skus = skus
        self.failures = failures
        self.calls = 0

    async def all_skus(self) -> list[str]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("catalog away")
        return self.skus


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_seeding_adds_missing_skus_and_leaves_existing_rows_alone() -> None:
    inv = InMemoryInventory({"A-1": 3})
    await inv.restock("A-1", 1)
    assert await seed_stock(inv, FlakyCatalog(["A-1", "B-1", "B-1", "bad sku"]), 100) == 2
    assert inv.counts("B-1") == (100, 0, 0)
    assert inv.stock["A-1"].initial == 4
    await seed_stock(inv, FlakyCatalog(["A-1", "B-1"]), 100)
    assert inv.counts("B-1") == (100, 0, 0)


async def test_the_seeder_retries_with_growing_delays_until_it_succeeds_once() -> None:
    inv, clock = InMemoryInventory(), Clock()
    catalog = FlakyCatalog(["A-1"], failures=3)
    seeder = StockSeeder(inv, catalog, 7, first_delay=1.0, max_delay=3.0, clock=clock,
                         jitter=lambda: 1.0)
    with pytest.raises(SeedNotDone):
        await seeder.check()
    waits = []
    for _ in range(3):
        assert await seeder.attempt() is False
        waits.append(seeder.retry_at - clock.now)
        await seeder.attempt()  # not due yet: the catalog is not asked
        clock.now = seeder.retry_at
    assert waits == [1.0, 2.0, 3.0] and catalog.calls == 3
    with pytest.raises(SeedNotDone):
        await seeder.check()
    await seeder.attempt()
    await seeder.check()
    assert catalog.calls == 4 and inv.counts("A-1") == (7, 0, 0) and seeder.skus_seen == 1
    await seeder.attempt()  # done: never asks again
    assert catalog.calls == 4
