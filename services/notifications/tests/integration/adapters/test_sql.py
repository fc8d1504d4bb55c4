"""The mailbox SQL (adapters/sql.py) on SQLite and PostgreSQL: the unique keys hold, listings
order and page."""

from __future__ import annotations

import asyncio

import pytest

from chassis.db import Database
from notifications.domain.messages import Kind
from notifications.service import mailbox

from ..conftest import NOW, outcome, seed, unit_of_work

pytestmark = pytest.mark.integration


async def test_one_message_per_order_and_kind(database: Database) -> None:
    uow = unit_of_work(database)
    assert await seed(uow, outcome("o-1"), outcome("o-1")) == [True, False]
    assert await seed(uow, outcome("o-1")) == [False]
    page = await mailbox.list_mailbox(uow, "alice")
    assert [(m.order_id, m.kind) for m in page.items] == [("o-1", Kind.ORDER_CONFIRMED)]
    assert page.items[0].created_at == NOW


async def test_no_confirmation_after_a_cancellation_nor_the_reverse(database: Database) -> None:
    uow = unit_of_work(database)
    assert await seed(uow, outcome("o-1", kind=Kind.ORDER_CANCELLED), outcome("o-1"),
                      outcome("o-2"), outcome("o-2", kind=Kind.ORDER_CANCELLED)) == [
        True, False, True, False]
    page = await mailbox.list_by_order(uow)
    assert [(o.order_id, o.kinds) for o in page.items] == [
        ("o-1", (Kind.ORDER_CANCELLED,)), ("o-2", (Kind.ORDER_CONFIRMED,))]


async def test_concurrent_deliveries_of_one_outcome_insert_one_row(database: Database) -> None:
    uow = unit_of_work(database)
    results = await asyncio.gather(*(seed(uow, outcome("o-1")) for _ in range(5)))
    assert sum(r[0] for r in results) == 1


async def test_the_mailbox_is_newest_first_and_pages_without_gaps(database: Database) -> None:
    uow = unit_of_work(database)
    await seed(uow, *(outcome(f"o-{n:02d}") for n in range(7)), outcome("x", user_id="bob"))
    seen: list[str] = []
    before: str | None = None
    for _ in range(10):
        page = await mailbox.list_mailbox(uow, "alice", limit=3, before_id=before)
        seen += [m.order_id for m in page.items]
        if not page.more:
            break
        before = page.items[-1].id
    assert seen == [f"o-{n:02d}" for n in reversed(range(7))]


async def test_the_admin_listing_pages_by_order_id(database: Database) -> None:
    uow = unit_of_work(database)
    await seed(uow, *(outcome(f"o-{n:02d}", user_id=f"u-{n % 2}") for n in range(5)))
    first = await mailbox.list_by_order(uow, limit=2)
    assert [o.order_id for o in first.items] == ["o-00", "o-01"] and first.more
    rest = await mailbox.list_by_order(uow, after="o-01", limit=10)
    assert [(o.order_id, o.user_id) for o in rest.items] == [("o-02", "u-0"), ("o-03", "u-1"),
                                                             ("o-04", "u-0")]
    assert not rest.more
