"""Keep the store bounded: drop traces older than the age limit, then the oldest beyond the count."""

from __future__ import annotations

import asyncio

from chassis.logging import get_logger
from telemetry.service.ports import TraceUnitOfWork

__all__ = ["prune"]

log = get_logger(__name__)

BATCH = 500  # traces deleted per transaction: short write locks, ingest goes on in between


async def prune(uow: TraceUnitOfWork, *, max_traces: int, max_age_ns: int, now_ns: int,
                batch: int = BATCH) -> int:
    """Delete what is over the limits, ``batch`` traces per transaction; how many were deleted."""
    deleted = 0
    cutoff = now_ns - max_age_ns
    while True:
        async with uow() as repo:
            victims = await repo.oldest_traces(batch, started_before_ns=cutoff)
            if not victims:
                excess = await repo.count_traces() - max_traces
                if excess <= 0:
                    break
                victims = await repo.oldest_traces(min(excess, batch))
            await repo.delete_traces(victims)
        deleted += len(victims)
        await asyncio.sleep(0)  # SQLite runs on the loop: let requests in between batches
    if deleted:
        log.info("traces pruned", deleted=deleted)
    return deleted
