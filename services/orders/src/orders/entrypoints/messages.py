"""The participants' replies, one named handler each: translation to the saga only (the rules
live in domain/saga.py). Each runs inside the consumer batch's transaction."""

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

handlers = MessageHandlers()


@handlers.on(StockReserved)
async def on_stock_reserved(reply: StockReserved, tx: MessageTx, runner: SagaRunner) -> None:
    await runner.on_reply(SqlOrders(tx), reply.order_id,
                          Reply(ReplyKind.STOCK_RESERVED, reply.idempotency_key))


@handlers.on(StockRejected)
async def on_stock_rejected(reply: StockRejected, tx: MessageTx, runner: SagaRunner) -> None:
    await runner.on_reply(SqlOrders(tx), reply.order_id,
                          Reply(ReplyKind.STOCK_REJECTED, reply.idempotency_key, reply.reason))


@handlers.on(StockReleased)
async def on_stock_released(reply: StockReleased, tx: MessageTx, runner: SagaRunner) -> None:
    await runner.on_reply(SqlOrders(tx), reply.order_id,
                          Reply(ReplyKind.STOCK_RELEASED, reply.idempotency_key))


@handlers.on(PaymentAuthorized)
async def on_payment_authorized(reply: PaymentAuthorized, tx: MessageTx,
                                runner: SagaRunner) -> None:
    await runner.on_reply(SqlOrders(tx), reply.order_id,
                          Reply(ReplyKind.PAYMENT_AUTHORIZED, reply.idempotency_key))


@handlers.on(PaymentDeclined)
async def on_payment_declined(reply: PaymentDeclined, tx: MessageTx, runner: SagaRunner) -> None:
    await runner.on_reply(SqlOrders(tx), reply.order_id,
                          Reply(ReplyKind.PAYMENT_DECLINED, reply.idempotency_key, reply.reason))


@handlers.on(PaymentCaptured)
async def on_payment_captured(reply: PaymentCaptured, tx: MessageTx, runner: SagaRunner) -> None:
    await runner.on_reply(SqlOrders(tx), reply.order_id,
                          Reply(ReplyKind.PAYMENT_CAPTURED, reply.idempotency_key))


@handlers.on(PaymentVoided)
async def on_payment_voided(reply: PaymentVoided, tx: MessageTx, runner: SagaRunner) -> None:
    await runner.on_reply(SqlOrders(tx), reply.order_id,
                          Reply(ReplyKind.PAYMENT_VOIDED, reply.idempotency_key, reply.outcome))
