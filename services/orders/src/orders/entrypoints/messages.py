"""The participants' replies: translation to the saga only (the rules live in domain/saga.py).
Every reply is the same translation (its kind, its key, and the reason or outcome it carries),
so one handler serves them all, registered per contract type from the table below. It runs
inside the consumer batch's transaction."""

from __future__ import annotations

from chassis.messaging import MessageHandlers, MessageTx
from contracts.inventory import StockRejected, StockReleased, StockReserved
from contracts.payments import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentDeclined,
    PaymentVoided,
)
from orders.adapters.sql import SqlOrders
from orders.domain.saga import Reply, ReplyKind
from orders.service.saga_runner import SagaRunner

__all__ = ["handlers"]

SagaReply = (StockReserved | StockRejected | StockReleased | PaymentAuthorized | PaymentDeclined
             | PaymentCaptured | PaymentVoided)

_KINDS: dict[type[SagaReply], ReplyKind] = {
    StockReserved: ReplyKind.STOCK_RESERVED,
    StockRejected: ReplyKind.STOCK_REJECTED,
    StockReleased: ReplyKind.STOCK_RELEASED,
    PaymentAuthorized: ReplyKind.PAYMENT_AUTHORIZED,
    PaymentDeclined: ReplyKind.PAYMENT_DECLINED,
    PaymentCaptured: ReplyKind.PAYMENT_CAPTURED,
    PaymentVoided: ReplyKind.PAYMENT_VOIDED,
}

handlers = MessageHandlers()


async def on_saga_reply(reply: SagaReply, tx: MessageTx, runner: SagaRunner) -> None:
    await runner.on_reply(SqlOrders(tx), reply.order_id,
                          Reply(_KINDS[type(reply)], reply.idempotency_key, _detail(reply)))


def _detail(reply: SagaReply) -> str:
    if isinstance(reply, StockRejected | PaymentDeclined):
        return reply.reason
    return reply.outcome if isinstance(reply, PaymentVoided) else ""


for _contract in _KINDS:
    handlers.on(_contract)(on_saga_reply)
