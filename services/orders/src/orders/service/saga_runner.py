"""Running the checkout saga: the state machine (domain/saga.py) applied to stored sagas.

Each transition is one transaction: the saga row (guarded by its version), a journal entry and
the commands or events it sends, through the outbox. Replies arrive in the consumer's batch
transaction; deadlines are acted on by the sweeper. Each transition is recorded on the span of
the message or request that caused it (an event named by ``step_name``, the order id as an
attribute), so the checkout's one trace shows every step without a span per step.
"""

from __future__ import annotations

from collections.abc import Callable

from chassis import clock
from chassis.logging import get_logger
from chassis.tracing import NO_TRACING, Tracing, current_span, parse_traceparent
from contracts import Line, Message, PricedLine
from contracts.inventory import ReleaseStock, ReserveStock
from contracts.orders import OrderCancelled, OrderConfirmed
from contracts.payments import AuthorizePayment, CapturePayment, VoidPayment
from orders.domain import saga as machine
from orders.domain.order import Order
from orders.domain.saga import Command, Deadlines, Reply, Step, Transition
from orders.service.notices import StatusNotices
from orders.service.ports import (
    JournalEntry,
    OrdersRepository,
    OrdersUnitOfWork,
    SagaMetrics,
    SagaRecord,
)

__all__ = ["SagaRunner", "command_message", "journal_entry", "step_name"]

log = get_logger(__name__)

_COMPENSATIONS = frozenset({Step.VOID, Step.RELEASE})


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
                                card_token=record.card_token, capture=command.capture)
    if step is Step.CAPTURE:
        return CapturePayment(order_id=order_id, idempotency_key=key,
                              amount_minor=record.total_minor)
    if step is Step.VOID:
        return VoidPayment(order_id=order_id, idempotency_key=key)
    if step is Step.RELEASE:
        return ReleaseStock(order_id=order_id, idempotency_key=key)
    raise ValueError(f"no command for step {step}")


def _final_order(record: SagaRecord, transition: Transition, now: float) -> Order:
    saga = transition.saga
    return Order(id=saga.order_id, user_id=record.user_id, status=saga.status,
                 total_minor=record.total_minor, currency=record.currency, lines=record.lines,
                 reason=saga.reason, created_at=record.created_at, updated_at=now)


def journal_entry(record: SagaRecord, transition: Transition, now: float) -> JournalEntry:
    """What the journal keeps of a transition: the step it left and why."""
    return JournalEntry(str(record.saga.step), transition.note, now)


def step_name(transition: Transition) -> str:
    """What a transition did, as the name of its span event: ``saga.reserve``,
    ``saga.authorize-capture`` (authorize and capture in one step) or ``saga.authorize`` then
    ``saga.capture`` (two steps), ``saga.confirmed``; ``saga.compensate.void``,
    ``saga.compensate.release``, ``saga.cancelled``; ``saga.compensate.void.late`` (the void or
    refund of a payment reply that came after the saga gave up); ``saga.ignored``."""
    if transition.confirmed:
        return "saga.confirmed"
    if transition.cancelled:
        return "saga.cancelled"
    if transition.commands:
        command = transition.commands[0]
        step = command.step
        if step in _COMPENSATIONS:
            return f"saga.compensate.{step}.late" if command.late else f"saga.compensate.{step}"
        return "saga.authorize-capture" if command.capture else f"saga.{step}"
    return "saga.ignored"


class SagaRunner:
    """Applies replies and deadlines to stored sagas."""

    def __init__(self, notices: StatusNotices, deadlines: Deadlines, metrics: SagaMetrics, *,
                 capture_on_authorize: bool = True, tracing: Tracing = NO_TRACING,
                 broker_up: Callable[[], bool] = lambda: True,
                 restart_deadlines_first: bool = False) -> None:
        """``capture_on_authorize``: the authorization asks payments to capture in the same
        step (the setting of that name). ``broker_up``: whether this process reaches the broker
        now; while it does not, no deadline is acted on (see :meth:`sweep`).
        ``restart_deadlines_first``: the first sweep restarts deadlines as after an outage,
        since a process that just started cannot know whether the broker was away before (the
        app sets it: an orders restarted after an outage would otherwise cancel the steps whose
        commands or answers waited in an outbox)."""
        self.notices = notices
        self.deadlines = deadlines
        self.metrics = metrics
        self.capture_on_authorize = capture_on_authorize
        self.tracing = tracing
        self.broker_up = broker_up
        self._broker_back_at: float | None = None  # set while deadlines are to be restarted
        self._broker_was_away = restart_deadlines_first

    async def apply(self, orders: OrdersRepository, record: SagaRecord, transition: Transition,
                    now: float, *, stored: bool = False) -> bool:
        """Store a transition with its journal entry and messages; False if the saga moved
        meanwhile (another instance), in which case nothing is written. ``stored``: the saga row
        already holds the new state and its journal entry (a new order's first step: see
        :func:`journal_entry`)."""
        saga = transition.saga
        entry = journal_entry(record, transition, now)
        if stored:
            pass  # its journal entry was stored with it
        elif transition.changed:
            if not await orders.save(saga, now=now, journal=entry):
                return False
        else:
            await orders.journal(saga.order_id, entry.step, entry.note, entry.at)
        order_id = saga.order_id
        span = current_span()
        if span.is_recording():
            span.set_attribute("souk.order_id", order_id)
            span.add_event(step_name(transition), {"saga.status": str(saga.status)})
            if transition.cancelled:  # every failed checkout's trace is kept, edge to end
                self.tracing.keep(span)
        for command in transition.commands:
            orders.publish(command_message(record, command), msg_id=command.msg_id,
                           correlation_id=order_id)
        if transition.confirmed:
            orders.publish(OrderConfirmed(order_id=order_id, user_id=record.user_id,
                                          lines=_priced(record), total_minor=record.total_minor,
                                          currency=record.currency, confirmed_at=now,
                                          cart_version=record.cart_version),
                           msg_id=f"{order_id}.confirmed", correlation_id=order_id)
        if transition.cancelled:
            orders.publish(OrderCancelled(order_id=order_id, user_id=record.user_id,
                                          lines=_priced(record), total_minor=record.total_minor,
                                          currency=record.currency, reason=saga.reason,
                                          cancelled_at=now),
                           msg_id=f"{order_id}.cancelled", correlation_id=order_id)
        final = transition.confirmed or transition.cancelled
        if transition.changed:
            done = _final_order(record, transition, now) if final else None
            orders.after_commit(lambda: self.notices.notify(order_id, final=done))
        if final:
            log.info("order confirmed" if transition.confirmed else "order cancelled",
                     order_id=order_id, reason=saga.reason or None,
                     total_minor=record.total_minor)
            seconds = max(0.0, now - record.created_at) if record.created_at else 0.0
            # the step whose reply confirmed it: authorize (captured on authorization) or capture
            answered = str(record.saga.step)

            def count() -> None:
                self.metrics.finished(confirmed=transition.confirmed, reason=saga.reason,
                                      seconds=seconds, total_minor=record.total_minor,
                                      currency=record.currency)
                if transition.confirmed:
                    self.metrics.confirmed_by(answered)

            orders.after_commit(count)
        return True

    async def on_reply(self, orders: OrdersRepository, order_id: str, reply: Reply) -> None:
        """A participant answered; raises when the saga moved concurrently (the reply is then
        retried by the consumer)."""
        record = await orders.load(order_id)
        if record is None:
            return  # not one of ours (or from a wiped database): nothing to drive
        now = clock.time()
        transition = machine.on_reply(record.saga, reply, now, self.deadlines,
                                      capture_on_authorize=self.capture_on_authorize)
        if not await self.apply(orders, record, transition, now):
            raise RuntimeError(f"saga {order_id} changed concurrently; the reply will be retried")
        if any(command.late for command in transition.commands):
            orders.after_commit(lambda: self.metrics.late_reply(str(reply.kind)))

    async def sweep(self, uow: OrdersUnitOfWork, *, limit: int = 200) -> bool:
        """Act on every saga whose step missed its deadline (this also resumes the sagas a
        crash left in flight); True when there may be more.

        A deadline measures how long a participant takes to answer, which it cannot while the
        broker is unreachable from here (the commands wait in the outbox): then nothing is
        acted on, and once the broker is back every step due by then gets its time again from
        then, so an outage delays checkouts instead of cancelling them."""
        if not self.broker_up():
            self._broker_was_away = True
            return False
        if self._broker_was_away:
            self._broker_back_at = self._broker_back_at or clock.time()
            if await self._restart_deadlines(uow, self._broker_back_at, limit):
                return True
            self._broker_was_away, self._broker_back_at = False, None
        now = clock.time()
        moved = 0
        async with uow() as orders:
            overdue = await orders.overdue(now, limit)
            for record in overdue:
                transition = machine.on_timeout(record.saga, now, self.deadlines)
                if not transition.changed:
                    continue
                # outside any request: the step joins the checkout's own trace
                parent = parse_traceparent(record.trace_parent) if record.trace_parent else None
                with self.tracing.continue_trace("saga.deadline", parent, attributes={
                        "saga.step": str(record.saga.step), "saga.attempt": record.saga.attempt}):
                    if await self.apply(orders, record, transition, now):
                        moved += 1
                        step = str(record.saga.step)
                        orders.after_commit(lambda step=step: self.metrics.timed_out(step))  # type: ignore[misc]
        if moved:
            log.info("saga deadlines acted on", sagas=moved)
        return len(overdue) >= limit

    async def _restart_deadlines(self, uow: OrdersUnitOfWork, since: float, limit: int) -> bool:
        """Every step due before ``since`` plus the longest step timeout gets its whole time
        again from ``since``; True when there may be more. Overdue steps come first, and a
        pass that restarts nothing ends it."""
        moved = 0
        async with uow() as orders:
            due = await orders.overdue(since + max(self.deadlines.values()), limit)
            for record in due:
                transition = machine.restart_deadline(record.saga, since, self.deadlines)
                if transition.changed and await orders.save(
                        transition.saga, now=since,
                        journal=journal_entry(record, transition, since)):
                    moved += 1
        if moved:
            log.info("saga deadlines restarted after a broker outage or a start", sagas=moved)
        return moved > 0 and len(due) >= limit
