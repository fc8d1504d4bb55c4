"""Message handlers: every orders event is projected into the read models (translation only).
They run inside the consumer batch's transaction and do no network I/O."""

from __future__ import annotations

from collections.abc import Mapping

from analytics.adapters.sql import SqlReadModels
from analytics.entrypoints.events import OrderEvent, fact_of
from analytics.service.projection import project
from chassis.messaging import Handler, Incoming, MessageTx
from contracts import Message
from contracts.orders import OrderCancelled, OrderConfirmed, OrderPlaced

__all__ = ["HANDLERS", "on_order_event"]


async def on_order_event(tx: MessageTx, event: OrderEvent, meta: Incoming) -> None:
    await project(SqlReadModels(tx), fact_of(event))


HANDLERS: Mapping[type[Message], Handler] = {
    OrderPlaced: on_order_event, OrderConfirmed: on_order_event, OrderCancelled: on_order_event}
