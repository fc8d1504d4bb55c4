"""The orders tables on a real database (SQLite and PostgreSQL): a consumer batch's sagas read
ahead in one statement."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chassis.db import Database
from chassis.messaging import MessageTx
from chassis.testing import connected_database
from orders.adapters.sql import SqlOrders
from orders.domain.order import Order, OrderLine
from orders.domain.saga import Saga, Status, Step
from orders.service.ports import JournalEntry

pytestmark = pytest.mark.integration

LAMP = OrderLine(sku="HOM-001", quantity=2, unit_price_minor=1250, name="Lamp")


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    async with connected_database(database_url, "orders") as db:
        yield db


async def place(db: Database, *order_ids: str) -> None:
    async with db.transaction() as raw:
        orders = SqlOrders(MessageTx(raw, dialect=db.dialect))
        for order_id in order_ids:
            order = Order(id=order_id, user_id="u-" + order_id, status=Status.PENDING,
                          total_minor=2500, currency="EUR", lines=(LAMP,), reason="", created_at=1.0,
                          updated_at=1.0)
            saga = Saga(order_id=order_id, status=Status.PENDING, step=Step.RESERVE,
                        deadline_at=100.0)
            assert await orders.insert(order, saga, idempotency_key="k", request_hash="h",
                                       card_token="tok_visa", trace_parent="",
                                       journal=JournalEntry("placed", "placed", 1.0))


async def test_a_batch_reads_its_sagas_in_one_statement_each_once(database: Database) -> None:
    await place(database, "o1", "o2", "o3")
    async with database.transaction() as raw:
        tx = MessageTx(raw, dialect=database.dialect)
        tx.batch_correlation_ids = frozenset({"o1", "o2", "o3", "gone"})
        orders = SqlOrders(tx)
        before = database.counts.statements
        first = await orders.load("o2")
        assert first is not None and first.saga.order_id == "o2" and first.user_id == "u-o2"
        assert database.counts.statements == before + 1  # the whole batch's, in one
        assert await orders.load("gone") is None  # not one of ours: known without a statement
        third = await orders.load("o3")
        assert third is not None and third.lines == (LAMP,)
        assert database.counts.statements == before + 1

        # a second reply to o2 in the batch reads the row as the first reply's save left it
        moved = Saga(order_id="o2", status=Status.PENDING, step=Step.AUTHORIZE,
                     deadline_at=200.0, version=first.saga.version)
        assert await orders.save(moved, now=2.0, journal=JournalEntry("reserve", "n", 2.0))
        again = await orders.load("o2")
        assert again is not None and again.saga.step is Step.AUTHORIZE
        assert again.saga.version == first.saga.version + 1


async def test_outside_a_batch_each_load_reads_its_own_row(database: Database) -> None:
    await place(database, "o1", "o2")
    async with database.transaction() as raw:
        tx = MessageTx(raw, dialect=database.dialect)
        tx.batch_correlation_ids = frozenset({"o1"})  # a batch of one: nothing to read ahead
        orders = SqlOrders(tx)
        before = database.counts.statements
        loaded = [await orders.load(order_id) for order_id in ("o1", "o2", "none")]
        assert [r and r.saga.order_id for r in loaded] == ["o1", "o2", None]
        assert database.counts.statements == before + 3
