"""Messages the cart consumes (choreography after checkout)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from cart.adapters.sql import SqlCartRepository
from cart.service.carts import remove_ordered_lines
from chassis.messaging import Handler, Incoming, MessageTx
from contracts import Message
from contracts.orders import OrderConfirmed

__all__ = ["handlers"]


def handlers(dialect: str) -> Mapping[type[Message], Handler]:
    async def on_order_confirmed(tx: MessageTx, event: OrderConfirmed, meta: Incoming) -> None:
        # runs inside the batch's transaction; the inbox makes a redelivery a no-op
        await remove_ordered_lines(SqlCartRepository(tx, dialect), event.user_id,
                                   (line.sku for line in event.lines), datetime.now(UTC))

    return {OrderConfirmed: on_order_confirmed}
