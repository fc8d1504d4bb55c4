"""Projecting events and rebuilding from the stream (service/projection.py), against in-memory
read models."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.domain.facts import Line, OrderFact, Status
from analytics.domain.summary import ProductTotal
from analytics.service import projection

from ..conftest import fact
from .conftest import InMemoryReadModels

pytestmark = pytest.mark.unit


async def stream(facts: Iterable[OrderFact]) -> AsyncIterator[OrderFact]:
    for f in facts:
        yield f


def history() -> list[OrderFact]:
    return [fact(Status.PLACED, "o-1"), fact(Status.PLACED, "o-2"),
            fact(Status.PLACED, "o-3", currency="USD"), fact(Status.CONFIRMED, "o-1"),
            fact(Status.CANCELLED, "o-2"), fact(Status.CONFIRMED, "o-3", currency="USD"),
            fact(Status.PLACED, "o-4")]


async def test_summarizes_statuses_revenue_and_top_products(models: InMemoryReadModels) -> None:
    for f in history():
        await projection.project(models, f)
    summary = await projection.summary(models)
    assert summary.orders_by_status == {"placed": 1, "confirmed": 2, "cancelled": 1}
    assert summary.orders == 4
    assert summary.revenue == {"EUR": 4500, "USD": 4500}
    assert summary.top_products == [ProductTotal("KIT-0001", 4, 4000),
                                    ProductTotal("BOK-0002", 2, 5000)]


async def test_duplicates_and_reversed_order_give_the_same_summary() -> None:
    forward, backward = InMemoryReadModels(), InMemoryReadModels()
    for f in history() + history():
        await projection.project(forward, f)
    for f in reversed(history()):
        await projection.project(backward, f)
    assert await projection.summary(forward) == await projection.summary(backward)


async def test_top_products_are_ten_by_units_with_ties_broken_by_sku(
        models: InMemoryReadModels) -> None:
    for n in range(12):
        sku = f"SKU-{n:02d}"
        await projection.project(models, fact(Status.CONFIRMED, f"o-{n}",
                                              lines=(Line(sku, 1 + n % 3, 100),)))
    top = (await projection.summary(models)).top_products
    assert [p.sku for p in top] == ["SKU-02", "SKU-05", "SKU-08", "SKU-11", "SKU-01", "SKU-04",
                                    "SKU-07", "SKU-10", "SKU-00", "SKU-03"]


async def test_a_rebuild_applies_everything_in_batches_then_swaps(
        models: InMemoryReadModels) -> None:
    for f in history():
        await projection.project(models, f)
    before = await projection.summary(models)
    await projection.project(models, fact(Status.CONFIRMED, "stale-not-in-the-stream"))
    models.transactions = 0
    replayed = await projection.rebuild(models, stream(history()), batch_size=3)
    assert replayed == 7
    assert models.transactions == 1 + 3 + 1  # the start, 3 + 3 + 1, the swap
    assert await projection.summary(models) == before


@given(st.lists(st.sampled_from(history()), max_size=20), st.integers(min_value=1, max_value=8))
@settings(max_examples=60, deadline=None)
def test_facts_projected_in_batches_give_what_one_at_a_time_gives(
        facts: list[OrderFact], batch: int) -> None:
    # a consumer projects a batch's facts together (several of one order among them)
    async def both() -> tuple[InMemoryReadModels, InMemoryReadModels]:
        one, batched = InMemoryReadModels(), InMemoryReadModels()
        for f in facts:
            await projection.project(one, f)
        for start in range(0, len(facts), batch):
            await projection.project_all(batched, facts[start:start + batch])
        return one, batched

    one, batched = asyncio.run(both())
    assert one.facts == batched.facts and one.sales == batched.sales
