"""Background tasks of an inventory process: the TTL sweeper and the catalog seeder."""

from __future__ import annotations

import asyncio

from chassis.logging import get_logger
from chassis.messaging import Messaging
from inventory.entrypoints.messages import expire_once
from inventory.service.seeding import StockSeeder

__all__ = ["run_seeder", "run_sweeper"]

log = get_logger(__name__)


async def run_sweeper(messaging: Messaging, dialect: str, interval: float, limit: int) -> None:
    """Every ``interval`` seconds expire due reservations; a full batch sweeps again at once."""
    while True:
        try:
            async with messaging.transaction() as tx:
                expired = await expire_once(tx, dialect, limit)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reservation sweep failed; retrying")
            expired = []
        if expired:
            log.info("reservations expired", count=len(expired))
        if len(expired) < limit:
            await asyncio.sleep(interval)


async def run_seeder(seeder: StockSeeder) -> None:
    skus = await seeder.run()
    log.info("stock seeded from the catalog", catalog_skus=skus)
