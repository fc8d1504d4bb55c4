"""Stocking every catalog SKU once: read the catalog (outside any transaction), then insert the
missing rows in one transaction. Tried until it has succeeded once, backing off after failures."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

from chassis.logging import get_logger
from inventory.domain.stock import is_sku
from inventory.service.ports import InventoryUnitOfWork, SkuSource

__all__ = ["SeedNotDone", "StockSeeder", "seed_stock"]

log = get_logger(__name__)


class SeedNotDone(Exception):
    """Readiness: the stock has not been seeded from the catalog yet."""


async def seed_stock(uow: InventoryUnitOfWork, source: SkuSource, quantity: int) -> int:
    """Give each catalog SKU without a stock row ``quantity`` units; how many SKUs the catalog
    listed. Existing rows are left alone, so restarts and concurrent instances add nothing twice."""
    skus = sorted({sku for sku in await source.all_skus() if is_sku(sku)})
    if skus:
        async with uow() as store:
            await store.add_stock_if_absent(skus, quantity)
    return len(skus)


def _jitter() -> float:
    return random.uniform(0.5, 1.0)  # noqa: S311 - spreading retries, not a secret


@dataclass(slots=True, eq=False)
class StockSeeder:
    """Runs :func:`seed_stock` until it succeeds once. ``attempt`` is called every ``tick``
    seconds by the background helper and tries only when due: at once, then after a jittered
    delay that doubles per failure up to ``max_delay``. ``check`` is the readiness probe."""

    uow: InventoryUnitOfWork
    source: SkuSource
    quantity: int
    _: KW_ONLY
    first_delay: float = 0.25
    max_delay: float = 15.0
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = _jitter
    tick: float = field(init=False)
    retry_at: float = field(init=False, default=0.0)  # clock time of the next try
    done: bool = field(init=False, default=False)
    skus_seen: int = field(init=False, default=0)
    _delay: float = field(init=False)  # the wait after the next failure, before jitter

    def __post_init__(self) -> None:
        self.tick = self._delay = self.first_delay

    async def attempt(self) -> bool:
        """Seed if due and not done yet; always False (nothing more to do right away)."""
        if self.done or self.clock() < self.retry_at:
            return False
        try:
            self.skus_seen = await seed_stock(self.uow, self.source, self.quantity)
        except Exception as exc:  # any failure is retried; the readiness probe tells
            wait = self._delay * self.jitter()
            self.retry_at = self.clock() + wait
            self._delay = min(self._delay * 2, self.max_delay)
            log.warning("stock seeding failed; retrying", error=str(exc) or repr(exc),
                        retry_in=round(wait, 2))
            return False
        self.done = True
        log.info("stock seeded from the catalog", catalog_skus=self.skus_seen)
        return False

    async def check(self) -> None:
        if not self.done:
            raise SeedNotDone("stock not seeded from the catalog yet")
