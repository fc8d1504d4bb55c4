"""The event store and its projection on a real database (SQLite and PostgreSQL): appends,
optimistic concurrency, the projection and its listings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from chassis.db import Database, open_database
from chassis.db.timestamps import to_db_timestamp
from payments.domain.errors import ConcurrencyConflict
from payments.domain.events import AuthorizationRequested, Authorized, Captured, PaymentEvent
from payments.service.ports import Lease, ListingKey, Stream

from ..conftest import sql_uow

pytestmark = pytest.mark.integration


async def append(db: Database, stream: Stream, *events: PaymentEvent) -> Stream:
    async with sql_uow(db)() as ledger:
        return await ledger.append(stream, events)


async def load(db: Database, order_id: str) -> Stream:
    async with sql_uow(db)(readonly=True) as ledger:
        return await ledger.load(order_id)


async def test_appended_events_load_back_in_order_with_their_versions(database: Database) -> None:
    stream = await append(database, Stream("o1"), Authorized(1500, "EUR", "u1", "o1:authorize"))
    await append(database, stream, Captured(1500))
    loaded = await load(database, "o1")
    assert [(e.version, e.event) for e in loaded.events] == [
        (1, Authorized(1500, "EUR", "u1", "o1:authorize")), (2, Captured(1500))]
    assert loaded.events[0].recorded_at.tzinfo is not None
    assert (await load(database, "nobody")).events == ()


async def test_the_projection_follows_every_append(database: Database) -> None:
    stream = await append(database, Stream("o1"), Authorized(1500, "EUR", "u1", "o1:authorize"))
    await append(database, stream, Captured(1500))
    async with sql_uow(database)(readonly=True) as ledger:
        [row] = await ledger.all_after(None, 10)
    assert (row.order_id, row.user_id, row.status, row.authorized_minor, row.captured_minor,
            row.refunded_minor, row.captures, row.currency, row.net_minor) == (
        "o1", "u1", "captured", 1500, 1500, 0, 1, "EUR", 1500)


async def test_a_stale_append_is_a_concurrency_conflict(database: Database) -> None:
    stale = Stream("o1")
    await append(database, stale, Authorized(1500, "EUR", "u1", "k"))
    with pytest.raises(ConcurrencyConflict):
        await append(database, stale, Authorized(1500, "EUR", "u1", "k"))
    assert (await load(database, "o1")).version == 1


async def test_of_two_concurrent_appends_exactly_one_wins(database: Database) -> None:
    base = await append(database, Stream("o1"), Authorized(1500, "EUR", "u1", "k"))
    results = await asyncio.gather(append(database, base, Captured(1500)),
                                   append(database, base, Captured(1500)),
                                   return_exceptions=True)
    assert sum(isinstance(r, ConcurrencyConflict) for r in results) == 1
    assert sum(isinstance(r, Stream) for r in results) == 1
    loaded = await load(database, "o1")
    assert loaded.version == 2 and loaded.payment.captures == 1


async def claim_pending(db: Database, owner: str, now: float) -> list[str]:
    async with sql_uow(db)() as ledger:
        return await ledger.claim_pending(Lease(owner, 60.0), now, 10)


async def test_pending_payments_are_claimed_by_one_owner_until_the_lease_runs_out(
        database: Database) -> None:
    for order_id in ("o1", "o3"):
        await append(database, Stream(order_id),
                     AuthorizationRequested("u1", 1, "EUR", "timeout", f"{order_id}:k"))
    await append(database, Stream("o2"), Authorized(1, "EUR", "u1", "k2"))
    assert await claim_pending(database, "a", 1000.0) == ["o1", "o3"]
    assert await claim_pending(database, "b", 1030.0) == []  # a holds them
    assert await claim_pending(database, "a", 1030.0) == ["o1", "o3"]  # renewed to 1090
    assert await claim_pending(database, "b", 1089.0) == []
    async with sql_uow(database)() as ledger:
        assert not await ledger.claim("o1", Lease("b", 60.0), 1089.0)
        assert await ledger.claim("o1", Lease("b", 60.0), 1090.0)  # a stopped renewing
        assert not await ledger.claim("o2", Lease("b", 60.0), 1090.0)  # not pending
    assert await claim_pending(database, "a", 1090.0) == ["o3"]


async def test_concurrent_claimants_never_share_a_pending_payment(
        database: Database, database_url: str) -> None:
    for i in range(30):
        await append(database, Stream(f"o{i:02}"),
                     AuthorizationRequested("u1", 1, "EUR", "timeout", f"k{i}"))
    # PostgreSQL: one connection each, so the claims really run at once (SKIP LOCKED and the
    # re-check under the row lock); SQLite serialises its writers anyway
    others = [open_database(database_url) for _ in range(3)] \
        if database.dialect == "postgresql" else []
    for db in others:
        await db.connect()
    try:
        dbs = others or [database] * 3
        results = await asyncio.gather(*(
            claim_pending(db, f"owner{n}", 1000.0) for n, db in enumerate(dbs)))
    finally:
        for db in others:
            await db.close()
    claimed = [order_id for result in results for order_id in result]
    assert sorted(claimed) == [f"o{i:02}" for i in range(30)]  # each once, none left out


async def test_listings_page_by_their_keys(database: Database) -> None:
    for i in range(5):
        await append(database, Stream(f"o{i}"), Authorized(100 + i, "EUR", "u1", f"k{i}"))
    await append(database, Stream("x9"), Authorized(1, "EUR", "u2", "kx"))
    async with sql_uow(database)(readonly=True) as ledger:
        newest = await ledger.for_user("u1", 2, None)
        assert [s.order_id for s in newest] == ["o4", "o3"]
        older = await ledger.for_user("u1", 10, ListingKey(newest[-1].created_at, "o3"))
        assert [s.order_id for s in older] == ["o2", "o1", "o0"]
        assert [s.order_id for s in await ledger.all_after("o3", 10)] == ["o4", "x9"]


async def test_a_request_stored_before_capture_existed_loads_without_capture(
        database: Database) -> None:
    old = ('{"user_id":"u1","amount_minor":700,"currency":"EUR","card_token_kind":"timeout",'
           '"idempotency_key":"o1:authorize"}')
    async with database.transaction() as tx:
        await tx.execute(
            "INSERT INTO payment_events (stream_id, version, type, data, recorded_at)"
            " VALUES (:stream_id, 1, 'AuthorizationRequested', :data, :recorded_at)",
            {"stream_id": "o1", "data": old,
             "recorded_at": to_db_timestamp(database.dialect, datetime.now(UTC))})
    loaded = await load(database, "o1")
    assert loaded.events[0].event == AuthorizationRequested("u1", 700, "EUR", "timeout",
                                                            "o1:authorize", capture=False)
    assert not loaded.payment.capture_requested


async def test_streams_said_to_be_loaded_together_are_read_in_one_statement(
        database: Database) -> None:
    """A landing group (``will_load``) or a consumer batch reads its streams at the first load;
    each stream is handed out once, so a second load sees what was appended in between."""
    first = await append(database, Stream("o1"), Authorized(1500, "EUR", "u1", "o1:authorize"))
    await append(database, first, Captured(1500))
    await append(database, Stream("o2"), Authorized(900, "EUR", "u2", "o2:authorize"))
    async with sql_uow(database)() as ledger:
        ledger.will_load(["o1", "o2", "o3"])
        before = database.counts.statements
        o2 = await ledger.load("o2")
        o1 = await ledger.load("o1")
        o3 = await ledger.load("o3")
        assert database.counts.statements == before + 1
        assert [e.version for e in o1.events] == [1, 2] and o1.payment.captured_minor == 1500
        assert [e.event for e in o2.events] == [Authorized(900, "EUR", "u2", "o2:authorize")]
        assert o3.events == ()
        await ledger.append(o2, [Captured(900)])
        again = await ledger.load("o2")  # read alone, after the append
        assert database.counts.statements > before + 1
        assert [e.version for e in again.events] == [1, 2]
    assert (await load(database, "o1")) == o1
