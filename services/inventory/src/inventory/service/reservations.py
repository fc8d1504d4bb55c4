"""The saga's commands to the inventory: reserve, release and commit an order's stock.

Each runs inside the caller's transaction (a message batch) and costs two to four statements.
They return what happened; the message entrypoint turns that into replies and log lines. The TTL
sweep (``sweep_expired``) runs in its own transactions, from the background, and lets a hold
expire only once orders says its saga can no longer confirm it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from enum import Enum

from chassis import clock
from chassis.logging import get_logger
from contracts.inventory import ReservationExpired
from inventory.domain.reservations import Reservation, Status
from inventory.domain.stock import Quantities, Rejection, merge_lines, shortfall
from inventory.service.ports import (
    InventoryRepository,
    InventoryUnitOfWork,
    SagaStates,
    SagasUnavailable,
)

__all__ = ["CommitOutcome", "ReleaseOutcome", "commit_reservation", "expire_reservations",
           "release_stock", "reserve_stock", "sweep_expired"]

log = get_logger(__name__)

# how soon reservations are looked at again when orders did not answer
UNANSWERED_RETRY = timedelta(seconds=30)


async def reserve_stock(store: InventoryRepository, order_id: str, idempotency_key: str,
                        lines: Iterable[tuple[str, int]], now: datetime,
                        ttl: timedelta) -> Rejection | None:
    """Hold every line or none. None means reserved; a repeat answers as the first time did."""
    wanted = merge_lines(lines)
    available = await store.available(wanted)
    rejection = shortfall(wanted, available)
    reservation = (Reservation.hold(order_id, idempotency_key, wanted, now, ttl)
                   if rejection is None
                   else Reservation.rejected(order_id, idempotency_key, wanted, now, rejection))
    if not await store.add_reservation_if_absent(reservation):  # holds ``wanted`` if it inserts
        existing = await store.get_reservation(order_id)
        # absent only if deleted in between, which nothing does; refuse rather than hold twice
        return existing.answer() if existing is not None else Rejection("conflict")
    return rejection


class ReleaseOutcome(Enum):
    RELEASED = "released"  # held stock given back
    TOMBSTONED = "tombstoned"  # nothing was reserved yet: a later reserve will be refused
    UNCHANGED = "unchanged"  # already released, expired or rejected
    COMMITTED = "committed"  # already sold: nothing to give back


async def release_stock(store: InventoryRepository, order_id: str, idempotency_key: str,
                        now: datetime) -> ReleaseOutcome:
    lines = await store.finish_active(order_id, Status.RELEASED, now)
    if lines is not None:
        await store.unhold(lines)
        return ReleaseOutcome.RELEASED
    if await store.add_reservation_if_absent(
            Reservation.tombstone(order_id, idempotency_key, now)):
        return ReleaseOutcome.TOMBSTONED
    existing = await store.get_reservation(order_id)
    if existing is not None and existing.status is Status.COMMITTED:
        return ReleaseOutcome.COMMITTED
    return ReleaseOutcome.UNCHANGED


class CommitOutcome(Enum):
    COMMITTED = "committed"  # held stock sold
    ALREADY_COMMITTED = "already-committed"
    COMMITTED_AFTER_EXPIRY = "committed-after-expiry"  # expired, sold again from available
    SHORT_AFTER_EXPIRY = "short-after-expiry"  # expired and not enough available any more
    NOT_RESERVED = "not-reserved"  # unknown order, released or rejected: nothing to sell

    @property
    def is_committed(self) -> bool:
        return self in (CommitOutcome.COMMITTED, CommitOutcome.ALREADY_COMMITTED,
                        CommitOutcome.COMMITTED_AFTER_EXPIRY)


async def commit_reservation(store: InventoryRepository, order_id: str,
                             now: datetime) -> CommitOutcome:
    lines = await store.finish_active(order_id, Status.COMMITTED, now)
    if lines is not None:
        await store.sell_held(lines)
        return CommitOutcome.COMMITTED
    existing = await store.get_reservation(order_id)
    if existing is None or existing.status in (Status.RELEASED, Status.REJECTED):
        return CommitOutcome.NOT_RESERVED
    if existing.status is Status.COMMITTED:
        return CommitOutcome.ALREADY_COMMITTED
    # EXPIRED: the order was confirmed after its hold ran out; sell from what is available now
    wanted = dict(existing.lines)
    if shortfall(wanted, await store.available(wanted)) is not None:
        return CommitOutcome.SHORT_AFTER_EXPIRY
    if not await store.change_status(order_id, Status.EXPIRED, Status.COMMITTED, now):
        return CommitOutcome.ALREADY_COMMITTED  # another instance committed it meanwhile
    await store.sell_available(wanted)
    return CommitOutcome.COMMITTED_AFTER_EXPIRY


async def expire_reservations(store: InventoryRepository, order_ids: Collection[str],
                              now: datetime) -> list[str]:
    """Give back the stock of those of ``order_ids`` still ACTIVE and past their TTL; the
    expired order ids."""
    expired = await store.expire(order_ids, now)
    total: Quantities = {}
    for _, lines in expired:
        for sku, quantity in lines.items():
            total[sku] = total.get(sku, 0) + quantity
    if total:
        await store.unhold(total)
    return [order_id for order_id, _ in expired]


async def sweep_expired(uow: InventoryUnitOfWork, sagas: SagaStates, limit: int,
                        ttl: timedelta) -> bool:
    """One sweep: the reservations past their TTL whose saga can no longer confirm (cancelled,
    or unknown to orders) expire, each announced with ``ReservationExpired``; those whose saga
    is still running or has confirmed are held for another TTL instead, since a hold must never
    run out under an order that may yet be (or has been) paid. When orders cannot be asked,
    nothing expires: they are looked at again a little later. True when the batch was full
    (more may be due right away)."""
    now = clock.now()
    async with uow(readonly=True) as store:
        due = await store.due(now, limit)
    if not due:
        return False
    try:
        keep, until = await sagas.may_confirm(due), now + ttl
    except SagasUnavailable as exc:
        keep, until = set(due), now + min(ttl, UNANSWERED_RETRY)
        log.warning("orders did not say which sagas run; no reservation expires now",
                    due=len(due), error=str(exc))
    async with uow() as store:
        expired = await expire_reservations(store, [o for o in due if o not in keep], now)
        for order_id in expired:
            store.publish(ReservationExpired(order_id=order_id), msg_id=f"{order_id}.expired",
                          correlation_id=order_id)
        await store.extend(keep, until)
    if expired:
        log.info("reservations expired", count=len(expired))
    if keep:
        log.info("reservations held on for their sagas", count=len(keep))
    return len(due) >= limit
