"""The saga's commands against an in-memory store that refuses negative or unbalanced stock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from contracts.inventory import ReservationExpired
from inventory.domain.reservations import Status
from inventory.domain.stock import INSUFFICIENT_STOCK, UNKNOWN_SKU, Rejection
from inventory.service.reservations import (
    CommitOutcome,
    ReleaseOutcome,
    commit_reservation,
    expire_reservations,
    release_stock,
    reserve_stock,
    sweep_expired,
)

from .conftest import FakeSagas, InMemoryInventory

pytestmark = pytest.mark.unit

NOW = datetime(2025, 1, 1, tzinfo=UTC)
TTL = timedelta(seconds=900)


async def reserve(inv: InMemoryInventory, order_id: str, *lines: tuple[str, int],
                  now: datetime = NOW) -> Rejection | None:
    async with inv() as store:
        return await reserve_stock(store, order_id, f"{order_id}:reserve", lines, now, TTL)


async def release(inv: InMemoryInventory, order_id: str) -> ReleaseOutcome:
    async with inv() as store:
        return await release_stock(store, order_id, f"{order_id}:release", NOW)


async def commit(inv: InMemoryInventory, order_id: str) -> CommitOutcome:
    async with inv() as store:
        return await commit_reservation(store, order_id, NOW)


async def expire(inv: InMemoryInventory, now: datetime, limit: int = 100) -> list[str]:
    """Expire what is due, as the sweep does when no saga keeps a hold."""
    async with inv() as store:
        return await expire_reservations(store, await store.due(now, limit), now)


async def test_reserving_moves_units_from_available_to_reserved() -> None:
    inv = InMemoryInventory({"A-1": 10, "B-1": 5})
    assert await reserve(inv, "o-1", ("A-1", 3), ("B-1", 5)) is None
    assert inv.counts("A-1") == (7, 3, 0) and inv.counts("B-1") == (0, 5, 0)
    r = inv.reservations["o-1"]
    assert r.status is Status.ACTIVE and r.expires_at == NOW + TTL
    assert dict(r.lines) == {"A-1": 3, "B-1": 5}


async def test_one_short_line_holds_nothing_at_all() -> None:
    inv = InMemoryInventory({"A-1": 10, "B-1": 5})
    assert await reserve(inv, "o-1", ("A-1", 3), ("B-1", 6)) == Rejection(
        INSUFFICIENT_STOCK, ("B-1",))
    assert inv.counts("A-1") == (10, 0, 0) and inv.counts("B-1") == (5, 0, 0)
    assert inv.reservations["o-1"].status is Status.REJECTED


async def test_an_unknown_sku_rejects_the_order() -> None:
    inv = InMemoryInventory({"A-1": 10})
    assert await reserve(inv, "o-1", ("A-1", 1), ("NOPE-1", 1)) == Rejection(
        UNKNOWN_SKU, ("NOPE-1",))
    assert inv.counts("A-1") == (10, 0, 0)


async def test_the_same_sku_on_two_lines_must_fit_in_total() -> None:
    inv = InMemoryInventory({"A-1": 5})
    assert await reserve(inv, "o-1", ("A-1", 3), ("A-1", 3)) == Rejection(
        INSUFFICIENT_STOCK, ("A-1",))
    assert await reserve(inv, "o-2", ("A-1", 2), ("A-1", 3)) is None
    assert inv.counts("A-1") == (0, 5, 0)


async def test_reserving_twice_holds_once_and_answers_the_same() -> None:
    inv = InMemoryInventory({"A-1": 10})
    assert await reserve(inv, "o-1", ("A-1", 4)) is None
    assert await reserve(inv, "o-1", ("A-1", 4)) is None
    assert inv.counts("A-1") == (6, 4, 0)


async def test_a_repeated_rejected_reserve_stays_rejected_even_after_a_restock() -> None:
    inv = InMemoryInventory({"A-1": 1})
    assert (await reserve(inv, "o-1", ("A-1", 4)) or Rejection("")).reason == INSUFFICIENT_STOCK
    await inv.restock("A-1", 100)
    assert (await reserve(inv, "o-1", ("A-1", 4)) or Rejection("")).reason == INSUFFICIENT_STOCK
    assert inv.counts("A-1") == (101, 0, 0)


async def test_a_reserve_costs_two_statements() -> None:
    inv = InMemoryInventory({"A-1": 10, "B-1": 10})
    await reserve(inv, "o-1", ("A-1", 1), ("B-1", 1))
    assert inv.statements == 2  # the stock read, and the reservation with its hold


async def test_releasing_gives_the_units_back_once() -> None:
    inv = InMemoryInventory({"A-1": 10})
    await reserve(inv, "o-1", ("A-1", 4))
    assert await release(inv, "o-1") is ReleaseOutcome.RELEASED
    assert await release(inv, "o-1") is ReleaseOutcome.UNCHANGED
    assert inv.counts("A-1") == (10, 0, 0)
    assert inv.reservations["o-1"].status is Status.RELEASED


async def test_a_release_before_the_reserve_leaves_a_tombstone_that_refuses_it() -> None:
    inv = InMemoryInventory({"A-1": 10})
    assert await release(inv, "o-1") is ReleaseOutcome.TOMBSTONED
    assert await reserve(inv, "o-1", ("A-1", 4)) == Rejection("released")
    assert inv.counts("A-1") == (10, 0, 0)
    assert await release(inv, "o-1") is ReleaseOutcome.UNCHANGED


async def test_releasing_a_rejected_reservation_changes_nothing() -> None:
    inv = InMemoryInventory({"A-1": 1})
    await reserve(inv, "o-1", ("A-1", 4))
    assert await release(inv, "o-1") is ReleaseOutcome.UNCHANGED
    assert inv.reservations["o-1"].status is Status.REJECTED
    assert inv.counts("A-1") == (1, 0, 0)


async def test_committing_sells_the_held_units_once() -> None:
    inv = InMemoryInventory({"A-1": 10})
    await reserve(inv, "o-1", ("A-1", 4))
    assert await commit(inv, "o-1") is CommitOutcome.COMMITTED
    assert await commit(inv, "o-1") is CommitOutcome.ALREADY_COMMITTED
    assert inv.counts("A-1") == (6, 0, 4)
    assert await reserve(inv, "o-1", ("A-1", 4)) is None  # a late repeat still says reserved


async def test_a_committed_reservation_is_not_released() -> None:
    inv = InMemoryInventory({"A-1": 10})
    await reserve(inv, "o-1", ("A-1", 4))
    await commit(inv, "o-1")
    assert await release(inv, "o-1") is ReleaseOutcome.COMMITTED
    assert inv.counts("A-1") == (6, 0, 4)


async def test_commit_of_nothing_reserved_sells_nothing() -> None:
    inv = InMemoryInventory({"A-1": 10})
    assert await commit(inv, "o-unknown") is CommitOutcome.NOT_RESERVED
    await release(inv, "o-1")
    assert await commit(inv, "o-1") is CommitOutcome.NOT_RESERVED
    assert inv.counts("A-1") == (10, 0, 0)


async def test_expiry_gives_the_units_back_and_a_late_reserve_is_refused() -> None:
    inv = InMemoryInventory({"A-1": 10})
    await reserve(inv, "o-1", ("A-1", 4))
    await reserve(inv, "o-2", ("A-1", 1), now=NOW + timedelta(seconds=10))
    assert await expire(inv, NOW + TTL - timedelta(seconds=1)) == []
    assert await expire(inv, NOW + TTL) == ["o-1"]
    assert inv.counts("A-1") == (9, 1, 0)
    assert await reserve(inv, "o-1", ("A-1", 4)) == Rejection("expired")
    assert await release(inv, "o-1") is ReleaseOutcome.UNCHANGED
    assert inv.counts("A-1") == (9, 1, 0)


async def test_a_sweep_expires_at_most_its_limit_oldest_first() -> None:
    inv = InMemoryInventory({"A-1": 10})
    for i in range(3):
        await reserve(inv, f"o-{i}", ("A-1", 1), now=NOW + timedelta(seconds=i))
    assert await expire(inv, NOW + 2 * TTL, limit=2) == ["o-0", "o-1"]
    assert inv.counts("A-1") == (9, 1, 0)


async def test_a_sweep_announces_each_expiry_in_its_own_transaction() -> None:
    inv, sagas = InMemoryInventory({"A-1": 10}), FakeSagas()
    past = datetime.now(UTC) - 2 * TTL  # the sweep expires by the wall clock
    for i in range(3):
        await reserve(inv, f"o-{i}", ("A-1", 1), now=past)
    before = inv.transactions
    assert await sweep_expired(inv, sagas, 2, TTL) is True  # a full batch: sweep again at once
    assert await sweep_expired(inv, sagas, 2, TTL) is False
    assert inv.transactions - before == 4  # each sweep: a read, then the expiry
    assert inv.published == [(ReservationExpired(order_id=f"o-{i}"), f"o-{i}.expired")
                             for i in range(3)]
    assert inv.counts("A-1") == (10, 0, 0)
    assert await sweep_expired(inv, sagas, 2, TTL) is False and len(inv.published) == 3


async def test_a_hold_does_not_expire_under_a_saga_that_may_still_confirm_it() -> None:
    """The TTL gives stock back only once orders says the saga can no longer confirm: a capture
    re-sent for longer than the TTL, or an OrderConfirmed still on its way, finds its units."""
    inv, sagas = InMemoryInventory({"A-1": 5}), FakeSagas("o-paying")
    past = datetime.now(UTC) - 2 * TTL
    await reserve(inv, "o-paying", ("A-1", 4), now=past)
    await reserve(inv, "o-gone", ("A-1", 1), now=past)
    await sweep_expired(inv, sagas, 100, TTL)
    assert sagas.asked == [["o-paying", "o-gone"]]
    assert inv.reservations["o-paying"].status is Status.ACTIVE  # held for another TTL
    assert (inv.reservations["o-paying"].expires_at or past) > datetime.now(UTC)
    assert inv.reservations["o-gone"].status is Status.EXPIRED
    assert inv.published == [(ReservationExpired(order_id="o-gone"), "o-gone.expired")]
    await reserve(inv, "o-other", ("A-1", 1))  # the freed unit, not the paying order's
    assert await commit(inv, "o-paying") is CommitOutcome.COMMITTED
    assert inv.counts("A-1") == (0, 1, 4)


async def test_no_hold_expires_while_orders_cannot_be_asked() -> None:
    inv, sagas = InMemoryInventory({"A-1": 5}), FakeSagas()
    sagas.down = True
    await reserve(inv, "o-1", ("A-1", 2), now=datetime.now(UTC) - 2 * TTL)
    assert await sweep_expired(inv, sagas, 100, TTL) is False
    held = inv.reservations["o-1"]
    assert held.status is Status.ACTIVE and inv.published == []
    assert held.expires_at is not None and held.expires_at > datetime.now(UTC)  # looked at later


async def test_a_confirmed_order_whose_hold_expired_is_sold_from_available() -> None:
    inv = InMemoryInventory({"A-1": 10})
    await reserve(inv, "o-1", ("A-1", 4))
    await expire(inv, NOW + TTL)
    assert await commit(inv, "o-1") is CommitOutcome.COMMITTED_AFTER_EXPIRY
    assert inv.counts("A-1") == (6, 0, 4)
    assert inv.reservations["o-1"].status is Status.COMMITTED
    assert await commit(inv, "o-1") is CommitOutcome.ALREADY_COMMITTED


async def test_an_expired_hold_that_no_longer_fits_is_left_alone() -> None:
    inv = InMemoryInventory({"A-1": 10})
    await reserve(inv, "o-1", ("A-1", 4))
    await expire(inv, NOW + TTL)
    await reserve(inv, "o-2", ("A-1", 8), now=NOW + TTL)
    assert await commit(inv, "o-1") is CommitOutcome.SHORT_AFTER_EXPIRY
    assert inv.counts("A-1") == (2, 8, 0)
    assert inv.reservations["o-1"].status is Status.EXPIRED


async def test_stock_never_goes_negative_under_any_sequence_of_commands() -> None:
    rng = random.Random(7)
    skus = ["A-1", "B-1", "C-1"]
    inv = InMemoryInventory(dict.fromkeys(skus, 20))
    now = NOW
    for _ in range(2000):
        order = f"o-{rng.randrange(60)}"
        action = rng.choice(["reserve", "reserve", "release", "commit", "expire"])
        if action == "reserve":
            lines = [(rng.choice(skus), rng.randint(1, 6)) for _ in range(rng.randint(1, 3))]
            await reserve(inv, order, *lines, now=now)
        elif action == "release":
            await release(inv, order)
        elif action == "commit":
            await commit(inv, order)
        else:
            now += timedelta(seconds=rng.randint(0, 400))
            await expire(inv, now)
        # the fake raises on any negative or unbalanced count; check holds match reservations too
        for sku in skus:
            held = sum(r.lines.get(sku, 0) for r in inv.reservations.values()
                       if r.status is Status.ACTIVE)
            assert inv.stock[sku].reserved == held
            assert inv.stock[sku].is_consistent
