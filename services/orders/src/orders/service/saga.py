"""Running the checkout saga: each transition is one transaction (saga row, journal, outbox)."""

from __future__ import annotations

import time

from chassis.logging import get_logger
from chassis.tracing import NO_TRACING, Tracing, extract
from contracts import Line, Message, PricedLine
from contracts.inventory import ReleaseStock, ReserveStock
from contracts.orders import OrderCancelled, OrderConfirmed
from contracts.payments import AuthorizePayment, CapturePayment, VoidPayment
from orders.domain import saga as machine
from orders.domain.saga import Command, Reply, Step, Transition
from orders.service.notices import StatusNotices
from orders.service.ports import OrdersTx, SagaMetrics, SagaRecord

__all__ = ["SagaRunner", "command_message"]

log = get_logger(__name__)


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


class _NoMetrics:
    def placed(self) -> None:
        pass

    def finished(self, *, confirmed: bool, reason: str, seconds: float, total_minor: int,
                 currency: str) -> None:
        pass

    def timed_out(self, step: str) -> None:
        pass


_COMPENSATIONS = frozenset({Step.VOID, Step.RELEASE})


def span_name(transition: Transition) -> str:
    """``saga.reserve``, ``saga.compensate.release``, ``saga.confirmed`` …"""
    if transition.confirmed:
        return "saga.confirmed"
    if transition.cancelled:
        return "saga.cancelled"
    if transition.commands:
        step = transition.commands[0].step
        return f"saga.compensate.{step}" if step in _COMPENSATIONS else f"saga.{step}"
    return "saga.ignored"


class SagaRunner:
    """Applies replies and deadlines to stored sagas. Each transition is a span of the
    checkout's trace (``saga.<step>``, ``saga.compensate.<step>``) carrying the order id."""

    def __init__(self, notices: StatusNotices,
                 deadlines: dict[Step, float] = machine.DEADLINES, *,
                 tracing: Tracing = NO_TRACING, metrics: SagaMetrics | None = None) -> None:
        self.notices = notices
        self.deadlines = deadlines
        self.tracing = tracing
        self.metrics: SagaMetrics = metrics or _NoMetrics()

    async def apply(self, tx: OrdersTx, record: SagaRecord, transition: Transition,
                    now: float, *, stored: bool = False) -> bool:
        """Store a transition with its journal entry and messages; False if the saga moved
        meanwhile (another instance), in which case nothing is written. ``stored``: the saga row
        already holds the new state (a new order's first step)."""
        saga = transition.saga
        with self.tracing.child_span(span_name(transition), attributes={
                "souk.order_id": saga.order_id, "saga.step": str(saga.step),
                "saga.status": str(saga.status), "saga.previous_status": str(record.saga.status),
                "saga.attempt": saga.attempt, "saga.note": transition.note}):
            return await self._apply(tx, record, transition, now, stored)

    async def _apply(self, tx: OrdersTx, record: SagaRecord, transition: Transition,
                     now: float, stored: bool) -> bool:
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
        if transition.confirmed or transition.cancelled:
            log.info("order confirmed" if transition.confirmed else "order cancelled",
                     order_id=order_id, reason=saga.reason or None, total_minor=record.total_minor)
            seconds = max(0.0, now - record.created_at) if record.created_at else 0.0
            tx.after_commit(lambda: self.metrics.finished(
                confirmed=transition.confirmed, reason=saga.reason, seconds=seconds,
                total_minor=record.total_minor, currency=record.currency))
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
            if not transition.changed:
                continue
            # the sweeper runs outside any request: the span joins the checkout's own trace
            parent = extract({"traceparent": record.trace_parent}) if record.trace_parent else None
            with self.tracing.span("saga.deadline", parent=parent, attributes={
                    "souk.order_id": record.saga.order_id, "saga.step": str(record.saga.step),
                    "saga.attempt": record.saga.attempt}):
                if await self.apply(tx, record, transition, now):
                    moved += 1
                    step = str(record.saga.step)
                    tx.after_commit(lambda step=step: self.metrics.timed_out(step))  # type: ignore[misc]
        return moved
