"""The mailbox SQL on SQLite and PostgreSQL: the unique keys hold, listings order and page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from chassis.db import Database
from notifications.adapters.sql import SqlUnitOfWork
from notifications.domain.messages import Kind, OrderOutcome
from notifications.service import mailbox

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def outcome(kind: Kind = Kind.ORDER_CONFIRMED, order_id: str = "o-1",
            user_id: str = "u-1") -> OrderOutcome:
    return OrderOutcome(kind, order_id, user_id, 3, 4500, "EUR")


async def notify(db: Database, *outcomes: OrderOutcome) -> list[bool]:
    async with SqlUnitOfWork(db).transaction() as box:
        return [await mailbox.notify(box, o, NOW) for o in outcomes]


async def test_one_message_per_order_and_kind(database: Database) -> None:
    assert await notify(database, outcome(), outcome()) == [True, False]
    assert await notify(database, outcome()) == [False]
    page = await mailbox.list_mailbox(SqlUnitOfWork(database), "u-1")
    assert [(m.order_id, m.kind) for m in page.items] == [("o-1", Kind.ORDER_CONFIRMED)]
    assert page.items[0].created_at == NOW


async def test_no_confirmation_after_a_cancellation_nor_the_reverse(database: Database) -> None:
    assert await notify(database, outcome(Kind.ORDER_CANCELLED, "o-1"),
                        outcome(Kind.ORDER_CONFIRMED, "o-1"),
                        outcome(Kind.ORDER_CONFIRMED, "o-2"),
                        outcome(Kind.ORDER_CANCELLED, "o-2")) == [True, False, True, False]
    page = await mailbox.list_by_order(SqlUnitOfWork(database))
    assert [(o.order_id, o.kinds) for o in page.items] == [
        ("o-1", (Kind.ORDER_CANCELLED,)), ("o-2", (Kind.ORDER_CONFIRMED,))]


async def test_concurrent_deliveries_of_one_outcome_insert_one_row(database: Database) -> None:
    results = await asyncio.gather(*(notify(database, outcome()) for _ in range(5)))
    assert sum(r[0] for r in results) == 1


async def test_the_mailbox_is_newest_first_and_pages_without_gaps(database: Database) -> None:
    await notify(database, *(outcome(order_id=f"o-{n:02d}") for n in range(7)),
                 outcome(order_id="x", user_id="u-2"))
    uow, seen, cursor = SqlUnitOfWork(database), [], None
    while True:
        page = await mailbox.list_mailbox(uow, "u-1", limit=3, cursor=cursor)
        seen += [m.order_id for m in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"o-{n:02d}" for n in reversed(range(7))]


async def test_the_admin_listing_pages_by_order_id(database: Database) -> None:
    await notify(database, *(outcome(order_id=f"o-{n:02d}", user_id=f"u-{n % 2}")
                             for n in range(5)))
    uow = SqlUnitOfWork(database)
    first = await mailbox.list_by_order(uow, limit=2)
    assert [o.order_id for o in first.items] == ["o-00", "o-01"] and first.next == "o-01"
    rest = await mailbox.list_by_order(uow, after="o-01", limit=10)
    assert [(o.order_id, o.user_id) for o in rest.items] == [("o-02", "u-0"), ("o-03", "u-1"),
                                                             ("o-04", "u-0")]
    assert rest.next is None
