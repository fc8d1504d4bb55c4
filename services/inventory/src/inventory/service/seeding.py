"""Stocking every catalog SKU once: read the catalog (outside any transaction), then insert the
missing rows in one transaction. Retried with backoff until it has succeeded once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from inventory.domain.stock import is_sku
from inventory.service.ports import SkuSource, UnitOfWork

__all__ = ["SeedNotDone", "StockSeeder", "seed_stock"]


class SeedNotDone(Exception):
    """Readiness: the stock has not been seeded from the catalog yet."""


async def seed_stock(uow: UnitOfWork, source: SkuSource, quantity: int) -> int:
    """Give each catalog SKU without a stock row ``quantity`` units; how many SKUs the catalog
    listed. Existing rows are left alone, so restarts and concurrent instances add nothing twice."""
    skus = sorted({sku for sku in await source.all_skus() if is_sku(sku)})
    if skus:
        async with uow.transaction() as store:
            await store.add_stock_if_absent(skus, quantity)
    return len(skus)


class StockSeeder:
    """Runs :func:`seed_stock` until it succeeds once; ``check`` is the readiness probe."""

    def __init__(self, uow: UnitOfWork, source: SkuSource, quantity: int, *,
                 first_delay: float = 0.25, max_delay: float = 15.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 on_failure: Callable[[BaseException, float], None] | None = None) -> None:
        self._uow = uow
        self._source = source
        self._quantity = quantity
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._sleep = sleep
        self._on_failure = on_failure
        self.done = False
        self.skus_seen = 0

    async def run(self) -> int:
        delay = self._first_delay
        while True:
            try:
                self.skus_seen = await seed_stock(self._uow, self._source, self._quantity)
            except Exception as exc:  # any failure is retried; the readiness probe tells
                wait = delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
                if self._on_failure is not None:
                    self._on_failure(exc, wait)
                await self._sleep(wait)
                delay = min(delay * 2, self._max_delay)
                continue
            self.done = True
            return self.skus_seen

    async def check(self) -> None:
        if not self.done:
            raise SeedNotDone("stock not seeded from the catalog yet")
