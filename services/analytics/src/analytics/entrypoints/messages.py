"""Orders' events, one named handler each: translation to the order's facts, then the one
projection they share (service/projection.py). Each runs inside the consumer batch's transaction
and adds its fact to the batch's; the facts are projected together when the transaction ends (one
upsert of facts and one insert of sales for the batch, not one or two per event): every checkout
passes here twice."""

from __future__ import annotations

from analytics.adapters.events import cancelled_fact, confirmed_fact, placed_fact
from analytics.adapters.sql import SqlReadModels
from analytics.domain.facts import OrderFact
from analytics.service.projection import project_all
from chassis.messaging import MessageHandlers, MessageTx
from contracts.orders import OrderCancelled, OrderConfirmed, OrderPlaced

__all__ = ["handlers"]

handlers = MessageHandlers()


class _BatchFacts:
    """The facts of one transaction's events, projected when it ends (``MessageTx.batched``)."""

    __slots__ = ("_facts", "_tx")

    def __init__(self, tx: MessageTx) -> None:
        self._tx = tx
        self._facts: list[OrderFact] = []

    def add(self, fact: OrderFact) -> None:
        self._facts.append(fact)

    async def flush(self) -> None:
        await project_all(SqlReadModels(self._tx), self._facts)


@handlers.on(OrderPlaced)
async def on_order_placed(event: OrderPlaced, tx: MessageTx) -> None:
    tx.batched(_BatchFacts).add(placed_fact(event))


@handlers.on(OrderConfirmed)
async def on_order_confirmed(event: OrderConfirmed, tx: MessageTx) -> None:
    tx.batched(_BatchFacts).add(confirmed_fact(event))


@handlers.on(OrderCancelled)
async def on_order_cancelled(event: OrderCancelled, tx: MessageTx) -> None:
    tx.batched(_BatchFacts).add(cancelled_fact(event))
