"""Background work of orders: the deadline sweeper (which also resumes sagas after a restart)."""

from __future__ import annotations

import asyncio

from chassis.logging import get_logger
from orders.service.ports import UnitOfWork
from orders.service.saga import SagaRunner

__all__ = ["sweep_forever"]

log = get_logger(__name__)


async def sweep_forever(uow: UnitOfWork, runner: SagaRunner, interval: float) -> None:
    """Every ``interval`` seconds, act on sagas whose step missed its deadline. Deadlines are
    stored, so after a crash the first sweep picks up whatever was left in flight."""
    while True:
        try:
            while True:
                async with uow() as tx:
                    moved = await runner.sweep(tx)
                if moved:
                    log.info("saga deadlines acted on", sagas=moved)
                if moved < 200:
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("saga sweep failed; trying again")
        await asyncio.sleep(interval)
