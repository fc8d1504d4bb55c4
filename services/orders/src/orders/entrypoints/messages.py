"""Participants' replies → the saga. Translation only; the rules live in domain/saga.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from chassis.messaging import Handler, Incoming, MessageTx
from contracts import Message
from contracts import inventory as inv
from contracts import payments as pay
from orders.adapters.sql import SqlOrdersTx
from orders.domain.saga import Reply, ReplyKind
from orders.service.saga import SagaRunner

__all__ = ["reply_handlers"]

_KINDS: dict[type[Message], ReplyKind] = {
    inv.StockReserved: ReplyKind.STOCK_RESERVED,
    inv.StockRejected: ReplyKind.STOCK_REJECTED,
    inv.StockReleased: ReplyKind.STOCK_RELEASED,
    pay.PaymentAuthorized: ReplyKind.PAYMENT_AUTHORIZED,
    pay.PaymentDeclined: ReplyKind.PAYMENT_DECLINED,
    pay.PaymentCaptured: ReplyKind.PAYMENT_CAPTURED,
    pay.PaymentVoided: ReplyKind.PAYMENT_VOIDED,
}


def _handler(runner: SagaRunner, kind: ReplyKind) -> Callable[[MessageTx, Any, Incoming],
                                                                Awaitable[None]]:
    async def handle(tx: MessageTx, reply: Any, meta: Incoming) -> None:
        reason = str(getattr(reply, "reason", "") or getattr(reply, "outcome", "") or "")
        await runner.on_reply(SqlOrdersTx(tx), reply.order_id,
                              Reply(kind=kind, idempotency_key=reply.idempotency_key, reason=reason))

    return handle


def reply_handlers(runner: SagaRunner) -> dict[type[Message], Handler]:
    return {model: _handler(runner, kind) for model, kind in _KINDS.items()}
