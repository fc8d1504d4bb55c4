"""The use cases: project one event's facts, summarize, rebuild everything from the stream
beside the live read models."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterable, Iterable

from analytics.domain.errors import ReplayIncomplete
from analytics.domain.facts import OrderFact, merge, sales_of
from analytics.domain.summary import Summary
from analytics.service.ports import AnalyticsUnitOfWork, Projection

__all__ = ["DEFAULT_BATCH_SIZE", "project", "project_all", "rebuild", "summary"]

DEFAULT_BATCH_SIZE = 500


async def project(models: Projection, fact: OrderFact) -> None:
    """Apply what one event says about its order. Idempotent and order-independent."""
    await project_all(models, (fact,))


async def project_all(models: Projection, facts: Iterable[OrderFact]) -> None:
    """Apply what several events say, in one write of facts and one of sales: the facts of one
    order are merged first (``merge`` is associative, so this is what applying them one by one
    gives). Idempotent and order-independent, like :func:`project`."""
    merged: dict[str, OrderFact] = {}
    for fact in facts:
        merged[fact.order_id] = merge(merged.get(fact.order_id), fact)
    if not merged:
        return
    # in the order of their ids: two transactions writing some of the same orders (two
    # instances, or a replay and the live consumer) lock the rows in the same order, so neither
    # can wait for the other in a deadlock
    facts_in_order = [merged[order_id] for order_id in sorted(merged)]
    await models.merge_facts(facts_in_order)
    if sales := [sale for fact in facts_in_order for sale in sales_of(fact)]:
        await models.add_sales(sales)


async def summary(uow: AnalyticsUnitOfWork) -> Summary:
    """Orders by status, confirmed revenue per currency, top products."""
    async with uow(readonly=True) as models:
        return await models.summary()


async def rebuild(uow: AnalyticsUnitOfWork, facts: AsyncIterable[OrderFact], *,
                  batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Rebuild the read models beside the live ones from ``facts`` (every stored event, oldest
    first) in transactions of ``batch_size``, then replace the live ones with the rebuild in one
    transaction; return how many facts were applied. The live models stay as they were until
    then, and for good if reading ``facts`` fails (that error is raised) or another rebuild
    took over meanwhile (``ReplayIncomplete``).

    A batch is gathered before its transaction opens, so no transaction waits on the stream.
    Live events projected meanwhile go to both (``ReadModels``): ``project`` is idempotent and
    commutative, so whatever the order, nothing is missed or counted twice.
    """
    token = uuid.uuid4().hex
    async with uow() as models:
        await models.start_rebuild(token)
    try:
        applied = 0
        batch: list[OrderFact] = []
        async for fact in facts:
            batch.append(fact)
            if len(batch) >= batch_size:
                applied += await _apply(uow, batch)
                batch = []
        if batch:
            applied += await _apply(uow, batch)
    except BaseException:
        with contextlib.suppress(Exception):  # else the next rebuild empties it
            async with uow() as models:
                await models.abandon_rebuild(token)
        raise
    async with uow() as models:
        if not await models.finish_rebuild(token):
            raise ReplayIncomplete("another replay took over; the live read models are kept")
    return applied


async def _apply(uow: AnalyticsUnitOfWork, batch: list[OrderFact]) -> int:
    async with uow() as models:
        await project_all(models.rebuild(), batch)
    return len(batch)
