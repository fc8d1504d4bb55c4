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


async def _insert(db: Database, order_id: str, key: str, cart_version: int | None,
                  created_at: float = 1.0) -> bool:
    async with db.transaction() as raw:
        orders = SqlOrders(MessageTx(raw, dialect=db.dialect))
        order = Order(id=order_id, user_id="u1", status=Status.PENDING, total_minor=2500,
                      currency="EUR", lines=(LAMP,), reason="", created_at=created_at,
                      updated_at=created_at)
        saga = Saga(order_id=order_id, status=Status.PENDING, step=Step.RESERVE,
                    deadline_at=100.0)
        return await orders.insert(order, saga, idempotency_key=key, request_hash="h",
                                   card_token="tok_visa", trace_parent="", cart_version=cart_version,
                                   journal=JournalEntry("placed", "placed", created_at))


async def _cancel(db: Database, order_id: str) -> None:
    async with db.transaction() as raw:
        orders = SqlOrders(MessageTx(raw, dialect=db.dialect))
        record = await orders.load(order_id)
        assert record is not None
        done = Saga(order_id=order_id, status=Status.CANCELLED, step=Step.DONE,
                    version=record.saga.version)
        assert await orders.save(done, now=2.0, journal=JournalEntry("cancelled", "declined", 2.0))


async def test_one_cart_version_gives_one_order_not_cancelled(database: Database) -> None:
    assert await _insert(database, "o1", "k1", cart_version=7)
    assert not await _insert(database, "o2", "k2", cart_version=7)  # another key, the same cart
    assert await _insert(database, "o3", "k3", cart_version=8)  # the cart changed since
    assert await _insert(database, "o4", "k4", cart_version=None)  # a cart without versions
    assert await _insert(database, "o5", "k5", cart_version=None)
    async with database.transaction() as raw:
        found = await SqlOrders(MessageTx(raw, dialect=database.dialect)).find_by_cart("u1", 7)
    assert found is not None and found.id == "o1"

    await _cancel(database, "o1")  # declined: the cart stays, and may be ordered again
    async with database.transaction() as raw:
        cancelled = await SqlOrders(MessageTx(raw, dialect=database.dialect)).load("o1")
    assert cancelled is not None and cancelled.cart_version is None  # let go of, as it cancelled
    assert await _insert(database, "o6", "k6", cart_version=7)
    async with database.transaction() as raw:
        found = await SqlOrders(MessageTx(raw, dialect=database.dialect)).find_by_cart("u1", 7)
    assert found is not None and found.id == "o6"


async def test_the_guard_builds_on_orders_that_already_hold_one_cart_twice(
        database_url: str) -> None:
    from chassis.db import migrate, service_migrations

    migrations = service_migrations("orders")
    await migrate(database_url, migrations, to="0005")  # before the guard: the race could happen
    async with connected_database(database_url) as db:
        assert await _insert(db, "old1", "k1", cart_version=7, created_at=1.0)
        assert await _insert(db, "old2", "k2", cart_version=7, created_at=2.0)
        assert await _insert(db, "old3", "k3", cart_version=8, created_at=2.5)
        async with db.transaction() as raw:  # cancelled as orders did before: version kept
            await raw.execute("UPDATE orders SET status = 'CANCELLED' WHERE id = 'old3'")
    await migrate(database_url, migrations)
    async with connected_database(database_url) as db:
        assert await _insert(db, "new1", "k4", cart_version=9, created_at=3.0)
        assert not await _insert(db, "new2", "k5", cart_version=9, created_at=4.0)
        assert await _insert(db, "new3", "k6", cart_version=8, created_at=5.0)
        async with db.transaction() as raw:
            ids = [row["id"] for row in await raw.fetch_all(
                "SELECT id FROM orders ORDER BY created_at")]
    assert ids == ["old1", "old2", "old3", "new1", "new3"]  # none placed before it was lost
