"""The inventory's part in the checkout saga: one named handler per contract type.

Each handler runs inside the consumer's batch transaction (``tx``): the use case changes the stock
and the reply goes through the same transaction's outbox, so both happen or neither does. Replies
carry the command's ``order_id`` and ``idempotency_key`` back and have the id ``<command id>.r``.
"""

from __future__ import annotations

from chassis import clock
from chassis.logging import get_logger
from chassis.messaging import Incoming, MessageHandlers, MessageTx
from contracts.inventory import (
    CommitReservation,
    ReleaseStock,
    ReservationCommitted,
    ReserveStock,
    StockRejected,
    StockReleased,
    StockReserved,
)
from contracts.orders import OrderConfirmed
from inventory.adapters.sql import SqlInventory
from inventory.service.context import InventoryContext
from inventory.service.reservations import (
    CommitOutcome,
    ReleaseOutcome,
    commit_reservation,
    release_stock,
    reserve_stock,
)

__all__ = ["handlers"]

log = get_logger(__name__)

handlers = MessageHandlers()


@handlers.on(ReserveStock)
async def on_reserve_stock(command: ReserveStock, tx: MessageTx, meta: Incoming,
                           inventory: InventoryContext) -> None:
    rejection = await reserve_stock(SqlInventory(tx), command.order_id, command.idempotency_key,
                                    ((line.sku, line.quantity) for line in command.lines),
                                    clock.now(), inventory.ttl)
    if rejection is None:
        tx.publish(StockReserved(order_id=command.order_id,
                                 idempotency_key=command.idempotency_key), msg_id=meta.reply_id)
    else:
        tx.publish(StockRejected(order_id=command.order_id,
                                 idempotency_key=command.idempotency_key,
                                 reason=rejection.reason, skus=rejection.skus),
                   msg_id=meta.reply_id)


@handlers.on(ReleaseStock)
async def on_release_stock(command: ReleaseStock, tx: MessageTx, meta: Incoming) -> None:
    outcome = await release_stock(SqlInventory(tx), command.order_id, command.idempotency_key,
                                  clock.now())
    if outcome is ReleaseOutcome.COMMITTED:
        log.warning("release asked for a committed reservation; nothing released",
                    order_id=command.order_id, msg_id=meta.id)
    tx.publish(StockReleased(order_id=command.order_id, idempotency_key=command.idempotency_key),
               msg_id=meta.reply_id)


@handlers.on(CommitReservation)
async def on_commit_reservation(command: CommitReservation, tx: MessageTx,
                                meta: Incoming) -> None:
    """An operator's explicit commit: answered, since its sender waits for the answer."""
    outcome = await _commit(tx, command.order_id, meta)
    if outcome.is_committed:
        tx.publish(ReservationCommitted(order_id=command.order_id,
                                        idempotency_key=command.idempotency_key),
                   msg_id=meta.reply_id)


@handlers.on(OrderConfirmed)
async def on_order_confirmed(event: OrderConfirmed, tx: MessageTx, meta: Incoming) -> None:
    """The checkout's own commit. Nothing is published: no service listens for a commit, and
    the admin reservation listing shows it."""
    await _commit(tx, event.order_id, meta)


async def _commit(tx: MessageTx, order_id: str, meta: Incoming) -> CommitOutcome:
    outcome = await commit_reservation(SqlInventory(tx), order_id, clock.now())
    if outcome is CommitOutcome.COMMITTED_AFTER_EXPIRY:
        log.warning("committed an expired reservation from available stock",
                    order_id=order_id, msg_id=meta.id)
    elif not outcome.is_committed:
        log.error("cannot commit the reservation", order_id=order_id, msg_id=meta.id,
                  type=meta.type, outcome=outcome.value)
    return outcome
