"""The read models' SQL (adapters/sql.py) on SQLite and PostgreSQL: the upserts merge exactly
like the domain rule, whatever the order and however often events arrive; the summary aggregates
agree with it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from analytics.adapters.events import FACT_OF
from analytics.domain.errors import ReplayIncomplete
from analytics.domain.facts import OrderFact, merge, sales_of
from analytics.domain.summary import summarize
from analytics.service import projection
from chassis.db import Database
from contracts import Event

from ..conftest import cancelled, confirmed, placed, project, unit_of_work

pytestmark = pytest.mark.integration


async def rows(db: Database, table: str, order_by: str) -> list[dict[str, Any]]:
    async with db.transaction(readonly=True) as tx:
        return await tx.fetch_all(f"SELECT * FROM {table} ORDER BY {order_by}")


@pytest.mark.parametrize("terminal", [confirmed, cancelled])
async def test_any_order_and_any_repetition_give_the_same_row(database: Database,
                                                              terminal: Any) -> None:
    uow = unit_of_work(database)
    for n, events in enumerate(itertools.permutations([placed, terminal, terminal, placed])):
        await project(uow, [e(f"o-{n:02d}") for e in events])
    facts = await rows(database, "order_facts", "order_id")
    assert len(facts) == 24
    assert len({tuple((k, v) for k, v in f.items() if k != "order_id") for f in facts}) == 1
    expected_status = "confirmed" if terminal is confirmed else "cancelled"
    assert (facts[0]["status"], facts[0]["placed_at"], facts[0]["settled_at"]) == (
        expected_status, 100.0, 200.0)
    assert facts[0]["lines"] == ('[{"sku":"KIT-0001","quantity":2,"unit_price_minor":1000},'
                                 '{"sku":"BOK-0002","quantity":1,"unit_price_minor":2500}]')
    sales = await rows(database, "product_sales", "order_id, sku")
    assert len(sales) == (48 if terminal is confirmed else 0)


@pytest.mark.parametrize("terminal", [confirmed, cancelled])
async def test_a_batch_of_events_gives_the_rows_one_event_at_a_time_gives(
        database: Database, terminal: Any) -> None:
    # what a consumer batch writes: several orders' facts in one statement, some of them
    # merged from two events of one order first, over rows already there for others
    uow = unit_of_work(database)
    await project(uow, [placed("o-old"), terminal("o-done")])
    one_by_one = [placed("o-1"), terminal("o-1"), terminal("o-old"), placed("o-done"),
                  placed("o-2"), terminal("o-1")]
    async with uow() as models:
        await projection.project_all(models, [FACT_OF[type(e)](e) for e in one_by_one])
    batched_facts = await rows(database, "order_facts", "order_id")
    batched_sales = await rows(database, "product_sales", "order_id, sku")
    async with database.transaction() as tx:
        await tx.execute("DELETE FROM product_sales")
        await tx.execute("DELETE FROM order_facts")
    await project(uow, [placed("o-old"), terminal("o-done")])
    for event in one_by_one:
        await project(uow, [event])
    assert batched_facts == await rows(database, "order_facts", "order_id")
    assert batched_sales == await rows(database, "product_sales", "order_id, sku")
    assert len(batched_facts) == 4


async def test_a_placed_after_the_confirmation_does_not_move_it_back(database: Database) -> None:
    uow = unit_of_work(database)
    await project(uow, [confirmed("o-1")])
    await project(uow, [placed("o-1")])
    (row,) = await rows(database, "order_facts", "order_id")
    assert row["status"] == "confirmed" and row["placed_at"] == 100.0


async def test_concurrent_transactions_on_one_order_lose_nothing(database: Database) -> None:
    uow = unit_of_work(database)
    orders = [f"o-{n}" for n in range(10)]
    await asyncio.gather(*(project(uow, [e(o)])
                           for o in orders for e in (placed, confirmed, placed)))
    facts = await rows(database, "order_facts", "order_id")
    assert {(f["status"], f["placed_at"]) for f in facts} == {("confirmed", 100.0)}
    assert len(facts) == 10


def mixed_history() -> list[Event]:
    return [placed("o-1"), placed("o-2"), placed("o-3", "USD"), confirmed("o-1"),
            cancelled("o-2"), confirmed("o-3", "USD"), placed("o-4"), confirmed("o-5")]


def facts_of(events: list[Event]) -> list[OrderFact]:
    return [FACT_OF[type(e)](e) for e in events]


async def test_the_summary_sql_agrees_with_the_domain_rule(database: Database) -> None:
    uow = unit_of_work(database)
    await project(uow, mixed_history())
    folded: dict[str, OrderFact] = {}
    for f in facts_of(mixed_history()):
        folded[f.order_id] = merge(folded.get(f.order_id), f)
    expected = summarize(folded.values(), [s for f in folded.values() for s in sales_of(f)])
    got = await projection.summary(uow)
    assert got == expected
    assert got.orders_by_status == {"placed": 1, "confirmed": 3, "cancelled": 1}
    assert got.revenue == {"EUR": 9000, "USD": 4500}
    assert [(p.sku, p.units, p.revenue_minor) for p in got.top_products] == [
        ("KIT-0001", 6, 6000), ("BOK-0002", 3, 7500)]


async def test_an_empty_database_summarizes_to_zeros(database: Database) -> None:
    summary = await projection.summary(unit_of_work(database))
    assert summary.orders_by_status == {"placed": 0, "confirmed": 0, "cancelled": 0}
    assert (summary.revenue, summary.top_products, summary.orders) == ({}, [], 0)


async def test_a_rebuild_replaces_the_read_models_with_the_stream(database: Database) -> None:
    uow = unit_of_work(database)
    await project(uow, mixed_history())
    before = await projection.summary(uow)
    await project(uow, [confirmed("not-in-the-stream")])

    async def stream() -> AsyncIterator[OrderFact]:
        for f in facts_of(mixed_history() + mixed_history()):
            yield f

    assert await projection.rebuild(uow, stream(), batch_size=5) == 16
    assert await projection.summary(uow) == before


async def test_a_rebuild_that_fails_midway_leaves_the_live_read_models_untouched(
        database: Database) -> None:
    uow = unit_of_work(database)
    await project(uow, [placed("o-live"), confirmed("o-live")])
    before = await projection.summary(uow)

    async def stalls() -> AsyncIterator[OrderFact]:
        for n, f in enumerate(facts_of(mixed_history())):
            if n == 3:
                raise ReplayIncomplete("the stream stalled")
            yield f

    with pytest.raises(ReplayIncomplete):
        await projection.rebuild(uow, stalls(), batch_size=2)
    assert await projection.summary(uow) == before
    for table in ("order_facts_rebuild", "product_sales_rebuild", "rebuilds"):
        assert await rows(database, table, "1") == []


async def test_events_projected_while_a_rebuild_runs_survive_the_swap(database: Database) -> None:
    uow = unit_of_work(database)
    arrived = asyncio.Event()
    go_on = asyncio.Event()

    async def stream() -> AsyncIterator[OrderFact]:
        for n, f in enumerate(facts_of(mixed_history())):
            if n == 2:
                arrived.set()
                await go_on.wait()
            yield f

    rebuilding = asyncio.create_task(projection.rebuild(uow, stream(), batch_size=2))
    await asyncio.wait_for(arrived.wait(), 10)
    await project(uow, [placed("o-late"), confirmed("o-late")])  # live, after the stream's end
    assert {r["order_id"] for r in await rows(database, "order_facts", "order_id")} == {"o-late"}
    go_on.set()
    await asyncio.wait_for(rebuilding, 10)
    expected = {f.order_id for f in facts_of(mixed_history())} | {"o-late"}
    assert {r["order_id"] for r in await rows(database, "order_facts", "order_id")} == expected
    assert await rows(database, "rebuilds", "token") == []
