"""Orders' events, one named handler each: translation to the order's facts, then the one
projection they share (service/projection.py). Each runs inside the consumer batch's transaction
and awaits one upsert (two for a confirmation): every checkout passes here."""

from __future__ import annotations

from analytics.adapters.events import cancelled_fact, confirmed_fact, placed_fact
from analytics.adapters.sql import SqlReadModels
from analytics.service.projection import project
from chassis.messaging import MessageHandlers, MessageTx
from contracts.orders import OrderCancelled, OrderConfirmed, OrderPlaced

__all__ = ["handlers"]

handlers = MessageHandlers()


@handlers.on(OrderPlaced)
async def on_order_placed(event: OrderPlaced, tx: MessageTx) -> None:
    await project(SqlReadModels(tx), placed_fact(event))


@handlers.on(OrderConfirmed)
async def on_order_confirmed(event: OrderConfirmed, tx: MessageTx) -> None:
    await project(SqlReadModels(tx), confirmed_fact(event))


@handlers.on(OrderCancelled)
async def on_order_cancelled(event: OrderCancelled, tx: MessageTx) -> None:
    await project(SqlReadModels(tx), cancelled_fact(event))
