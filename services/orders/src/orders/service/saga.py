"""Running the checkout saga: each transition is one transaction (saga row, journal, outbox)."""

from __future__ import annotations

import time

from contracts import Line, Message, PricedLine
from contracts.inventory import ReleaseStock, ReserveStock
from contracts.orders import OrderCancelled, OrderConfirmed
from contracts.payments import AuthorizePayment, CapturePayment, VoidPayment
from orders.domain import saga as machine
from orders.domain.saga import Command, Reply, Step, Transition
from orders.service.notices import StatusNotices
from orders.service.ports import OrdersTx, SagaRecord

__all__ = ["SagaRunner", "command_message"]


def _priced(record: SagaRecord) -> tuple[PricedLine, ...]:
    return tuple(PricedLine(sku=x.sku, quantity=x.quantity, unit_price_minor=x.unit_price_minor,
                            name=x.name) for x in record.lines)


def command_message(record: SagaRecord, command: Command) -> Message:
    """The contract message for a saga command."""
    order_id, key = record.saga.order_id, command.idempotency_key
    step = command.step
    if step is Step.RESERVE:
        return ReserveStock(order_id=order_id, idempotency_key=key,
                            lines=tuple(Line(sku=x.sku, quantity=x.quantity) for x in record.lines))
    if step is Step.AUTHORIZE:
        return AuthorizePayment(order_id=order_id, idempotency_key=key, user_id=record.user_id,
                                amount_minor=record.total_minor, currency=record.currency,
                                card_token=record.card_token)
    if step is Step.CAPTURE:
        return CapturePayment(order_id=order_id, idempotency_key=key,
                              amount_minor=record.total_minor)
    if step is Step.VOID:
        return VoidPayment(order_id=order_id, idempotency_key=key)
    if step is Step.RELEASE:
        return ReleaseStock(order_id=order_id, idempotency_key=key)
    raise ValueError(f"no command for step {step}")


class SagaRunner:
    """Applies replies and deadlines to stored sagas."""

    def __init__(self, notices: StatusNotices,
                 deadlines: dict[Step, float] = machine.DEADLINES) -> None:
        self.notices = notices
        self.deadlines = deadlines

    async def apply(self, tx: OrdersTx, record: SagaRecord, transition: Transition,
                    now: float, *, stored: bool = False) -> bool:
        """Store a transition with its journal entry and messages; False if the saga moved
        meanwhile (another instance), in which case nothing is written. ``stored``: the saga row
        already holds the new state (a new order's first step)."""
        saga = transition.saga
        if transition.changed and not stored and not await tx.save(saga, now=now):
            return False
        order_id = saga.order_id
        await tx.journal(order_id, str(record.saga.step), transition.note, now)
        for command in transition.commands:
            tx.publish(command_message(record, command), msg_id=command.msg_id,
                       correlation_id=order_id)
        if transition.confirmed:
            tx.publish(OrderConfirmed(order_id=order_id, user_id=record.user_id,
                                      lines=_priced(record), total_minor=record.total_minor,
                                      currency=record.currency, confirmed_at=now),
                       msg_id=f"{order_id}.confirmed", correlation_id=order_id)
        if transition.cancelled:
            tx.publish(OrderCancelled(order_id=order_id, user_id=record.user_id,
                                      lines=_priced(record), total_minor=record.total_minor,
                                      currency=record.currency, reason=saga.reason,
                                      cancelled_at=now),
                       msg_id=f"{order_id}.cancelled", correlation_id=order_id)
        if transition.changed:
            tx.after_commit(lambda: self.notices.notify(order_id))
        return True

    async def on_reply(self, tx: OrdersTx, order_id: str, reply: Reply) -> None:
        record = await tx.load(order_id)
        if record is None:
            return  # not one of ours (or from a wiped database): nothing to drive
        now = time.time()
        transition = machine.on_reply(record.saga, reply, now, self.deadlines)
        if not await self.apply(tx, record, transition, now):
            raise RuntimeError(f"saga {order_id} changed concurrently; the reply will be retried")

    async def sweep(self, tx: OrdersTx, *, limit: int = 200) -> int:
        """Act on every saga whose step missed its deadline; returns how many moved."""
        now = time.time()
        moved = 0
        for record in await tx.overdue(now, limit):
            transition = machine.on_timeout(record.saga, now, self.deadlines)
            if transition.changed and await self.apply(tx, record, transition, now):
                moved += 1
        return moved
