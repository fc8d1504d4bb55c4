"""The inventory's part in the checkout saga: command handlers and the OrderConfirmed listener.

Each handler runs inside the consumer's batch transaction (``tx``): the use case changes the stock
and the reply goes through the same transaction's outbox, so both happen or neither does. Replies
carry the command's ``order_id`` and ``idempotency_key`` back and have the id ``<command id>.r``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from chassis.logging import get_logger
from chassis.messaging import Handler, Incoming, MessageTx
from contracts import Message
from contracts.inventory import (
    CommitReservation,
    ReleaseStock,
    ReservationCommitted,
    ReservationExpired,
    ReserveStock,
    StockRejected,
    StockReleased,
    StockReserved,
)
from contracts.orders import OrderConfirmed
from inventory.adapters.sql import SqlInventoryStore
from inventory.service.reservations import (
    CommitOutcome,
    ReleaseOutcome,
    commit_reservation,
    expire_reservations,
    release_stock,
    reserve_stock,
)

__all__ = ["InventoryHandlers"]

log = get_logger(__name__)


class InventoryHandlers:
    """Handlers bound to the database dialect and the reservation TTL."""

    def __init__(self, dialect: str, ttl: timedelta) -> None:
        self._dialect = dialect
        self._ttl = ttl

    def subscriptions(self) -> Mapping[type[Message], Handler]:
        return {ReserveStock: self.on_reserve_stock, ReleaseStock: self.on_release_stock,
                CommitReservation: self.on_commit_reservation,
                OrderConfirmed: self.on_order_confirmed}

    async def on_reserve_stock(self, tx: MessageTx, cmd: ReserveStock, meta: Incoming) -> None:
        store = SqlInventoryStore(tx, self._dialect)
        rejection = await reserve_stock(store, cmd.order_id, cmd.idempotency_key,
                                        ((line.sku, line.quantity) for line in cmd.lines),
                                        datetime.now(UTC), self._ttl)
        reply: Message
        if rejection is None:
            reply = StockReserved(order_id=cmd.order_id, idempotency_key=cmd.idempotency_key)
        else:
            reply = StockRejected(order_id=cmd.order_id, idempotency_key=cmd.idempotency_key,
                                  reason=rejection.reason, skus=rejection.skus)
        tx.publish(reply, msg_id=f"{meta.id}.r")

    async def on_release_stock(self, tx: MessageTx, cmd: ReleaseStock, meta: Incoming) -> None:
        store = SqlInventoryStore(tx, self._dialect)
        outcome = await release_stock(store, cmd.order_id, cmd.idempotency_key, datetime.now(UTC))
        if outcome is ReleaseOutcome.COMMITTED:
            log.warning("release asked for a committed reservation; nothing released",
                        order_id=cmd.order_id, msg_id=meta.id)
        tx.publish(StockReleased(order_id=cmd.order_id, idempotency_key=cmd.idempotency_key),
                   msg_id=f"{meta.id}.r")

    async def on_commit_reservation(self, tx: MessageTx, cmd: CommitReservation,
                                    meta: Incoming) -> None:
        outcome = await self._commit(tx, cmd.order_id, meta)
        if outcome.is_committed:
            tx.publish(ReservationCommitted(order_id=cmd.order_id,
                                            idempotency_key=cmd.idempotency_key),
                       msg_id=f"{meta.id}.r")

    async def on_order_confirmed(self, tx: MessageTx, event: OrderConfirmed,
                                 meta: Incoming) -> None:
        outcome = await self._commit(tx, event.order_id, meta)
        if outcome in (CommitOutcome.COMMITTED, CommitOutcome.COMMITTED_AFTER_EXPIRY):
            tx.publish(ReservationCommitted(order_id=event.order_id,
                                            idempotency_key=f"{event.order_id}:committed"),
                       msg_id=f"{event.order_id}.committed", correlation_id=event.order_id)

    async def _commit(self, tx: MessageTx, order_id: str, meta: Incoming) -> CommitOutcome:
        store = SqlInventoryStore(tx, self._dialect)
        outcome = await commit_reservation(store, order_id, datetime.now(UTC))
        if outcome is CommitOutcome.COMMITTED_AFTER_EXPIRY:
            log.warning("committed an expired reservation from available stock",
                        order_id=order_id, msg_id=meta.id)
        elif not outcome.is_committed:
            log.error("cannot commit the reservation", order_id=order_id, msg_id=meta.id,
                      type=meta.type, outcome=outcome.value)
        return outcome


async def expire_once(tx: MessageTx, dialect: str, limit: int) -> list[str]:
    """One sweep in ``tx``: expire what is due, announce each with ReservationExpired."""
    expired = await expire_reservations(SqlInventoryStore(tx, dialect), datetime.now(UTC), limit)
    for order_id in expired:
        tx.publish(ReservationExpired(order_id=order_id), msg_id=f"{order_id}.expired",
                   correlation_id=order_id)
    return expired
