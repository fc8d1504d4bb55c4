"""Orders' terminal events, one named handler each: translation to a mailbox message only (the
rules live in service/mailbox.py). Each runs inside the consumer batch's transaction (the inbox
dedupes redeliveries in it) and awaits nothing but one INSERT: every checkout passes here.
A delivery is logged (one line), so a checkout's trail reads end to end by its trace id."""

from __future__ import annotations

from chassis import clock
from chassis.logging import get_logger
from chassis.messaging import MessageHandlers, MessageTx
from contracts import PricedLine
from contracts.orders import OrderCancelled, OrderConfirmed
from notifications.adapters.sql import SqlMailbox
from notifications.domain.messages import Kind, OrderOutcome
from notifications.service.mailbox import notify

__all__ = ["cancellation", "confirmation", "handlers"]

log = get_logger(__name__)
handlers = MessageHandlers()


def _item_count(lines: tuple[PricedLine, ...]) -> int:
    return sum(line.quantity for line in lines)


def confirmation(event: OrderConfirmed) -> OrderOutcome:
    """The outcome an OrderConfirmed tells (notifications' own copy of the fields it reads)."""
    return OrderOutcome(Kind.ORDER_CONFIRMED, event.order_id, event.user_id,
                        _item_count(event.lines), event.total_minor, event.currency)


def cancellation(event: OrderCancelled) -> OrderOutcome:
    """The outcome an OrderCancelled tells, with its reason."""
    return OrderOutcome(Kind.ORDER_CANCELLED, event.order_id, event.user_id,
                        _item_count(event.lines), event.total_minor, event.currency,
                        reason=event.reason)


@handlers.on(OrderConfirmed)
async def on_order_confirmed(event: OrderConfirmed, tx: MessageTx) -> None:
    if await notify(SqlMailbox(tx), confirmation(event), clock.now()):
        # the delivery's trail, found with the checkout's other lines by its trace id
        log.info("confirmation written to the mailbox", order_id=event.order_id)


@handlers.on(OrderCancelled)
async def on_order_cancelled(event: OrderCancelled, tx: MessageTx) -> None:
    if await notify(SqlMailbox(tx), cancellation(event), clock.now()):
        log.info("cancellation written to the mailbox", order_id=event.order_id)
