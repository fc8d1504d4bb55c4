"""Message handlers: orders' terminal events become mailbox messages (translation only).

They run inside the consumer batch's database transaction (the inbox dedupes redeliveries in it)
and do no network I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from chassis.logging import get_logger
from chassis.messaging import Handler, Incoming, MessageTx
from contracts import Message
from contracts.base import PricedLine
from contracts.orders import OrderCancelled, OrderConfirmed
from notifications.adapters.sql import SqlMailbox
from notifications.domain.messages import Kind, OrderOutcome
from notifications.service.mailbox import notify

__all__ = ["handlers", "outcome_of"]

log = get_logger(__name__)


def _item_count(lines: tuple[PricedLine, ...]) -> int:
    return sum(line.quantity for line in lines)


def outcome_of(event: OrderConfirmed | OrderCancelled) -> OrderOutcome:
    if isinstance(event, OrderConfirmed):
        return OrderOutcome(Kind.ORDER_CONFIRMED, event.order_id, event.user_id,
                            _item_count(event.lines), event.total_minor, event.currency)
    return OrderOutcome(Kind.ORDER_CANCELLED, event.order_id, event.user_id,
                        _item_count(event.lines), event.total_minor, event.currency,
                        reason=event.reason)


def handlers(dialect: str) -> Mapping[type[Message], Handler]:
    """The handlers to subscribe, for a database of ``dialect``."""

    async def on_order_confirmed(tx: MessageTx, event: OrderConfirmed, meta: Incoming) -> None:
        if await notify(SqlMailbox(tx, dialect), outcome_of(event), datetime.now(UTC)):
            log.info("confirmation written to the mailbox", order_id=event.order_id)

    async def on_order_cancelled(tx: MessageTx, event: OrderCancelled, meta: Incoming) -> None:
        if await notify(SqlMailbox(tx, dialect), outcome_of(event), datetime.now(UTC)):
            log.info("cancellation written to the mailbox", order_id=event.order_id)

    return {OrderConfirmed: on_order_confirmed, OrderCancelled: on_order_cancelled}
