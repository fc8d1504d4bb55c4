"""The use cases: project one event's facts, summarize, rebuild everything from the stream."""

from __future__ import annotations

from collections.abc import AsyncIterable

from analytics.domain.facts import OrderFact, sales_of
from analytics.domain.summary import Summary
from analytics.service.ports import AnalyticsUnitOfWork, ReadModels

__all__ = ["DEFAULT_BATCH_SIZE", "project", "rebuild", "summary"]

DEFAULT_BATCH_SIZE = 500


async def project(models: ReadModels, fact: OrderFact) -> None:
    """Apply what one event says about its order. Idempotent and order-independent."""
    await models.merge_fact(fact)
    if sales := sales_of(fact):
        await models.add_sales(sales)


async def summary(uow: AnalyticsUnitOfWork) -> Summary:
    """Orders by status, confirmed revenue per currency, top products."""
    async with uow(readonly=True) as models:
        return await models.summary()


async def rebuild(uow: AnalyticsUnitOfWork, facts: AsyncIterable[OrderFact], *,
                  batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Clear the read models, then apply ``facts`` (every stored event, oldest first) in
    transactions of ``batch_size``; return how many were applied.

    A batch is gathered before its transaction opens, so no transaction waits on the stream.
    Live events applied meanwhile are harmless: ``project`` is idempotent and commutative.
    """
    async with uow() as models:
        await models.clear()
    applied = 0
    batch: list[OrderFact] = []
    async for fact in facts:
        batch.append(fact)
        if len(batch) >= batch_size:
            applied += await _apply(uow, batch)
            batch = []
    if batch:
        applied += await _apply(uow, batch)
    return applied


async def _apply(uow: AnalyticsUnitOfWork, batch: list[OrderFact]) -> int:
    async with uow() as models:
        for fact in batch:
            await project(models, fact)
    return len(batch)
