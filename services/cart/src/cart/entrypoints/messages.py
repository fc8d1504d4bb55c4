"""The messages the cart consumes (choreography after checkout), one named handler each."""

from __future__ import annotations

from cart.adapters.sql import SqlCarts
from cart.service.carts import remove_ordered_lines
from chassis import clock
from chassis.messaging import MessageHandlers, MessageTx
from contracts.orders import OrderConfirmed

__all__ = ["handlers"]

handlers = MessageHandlers()


@handlers.on(OrderConfirmed)
async def on_order_confirmed(event: OrderConfirmed, tx: MessageTx) -> None:
    """What was ordered leaves the buyer's cart (the lines not set since the cart version the
    order was taken from), in the batch's transaction with its inbox row, so a redelivered event
    changes nothing."""
    await remove_ordered_lines(SqlCarts(tx), event.user_id,
                               ((line.sku, line.quantity) for line in event.lines), clock.now(),
                               cart_version=event.cart_version)
