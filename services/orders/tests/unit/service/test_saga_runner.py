"""The saga runner (service/saga_runner.py): replies and deadlines applied to stored sagas."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from contracts.inventory import ReleaseStock
from contracts.orders import OrderCancelled, OrderConfirmed
from contracts.payments import AuthorizePayment, CapturePayment, VoidPayment
from orders.domain import saga as machine
from orders.domain.saga import Reply, ReplyKind, Status, Step
from orders.service.checkout import place_order
from orders.service.notices import StatusNotices
from orders.service.ports import JournalEntry
from orders.service.saga_runner import SagaRunner, step_name

from .conftest import DEADLINES, LAMP, FakeCarts, FakeMetrics, FakeUnitOfWork

pytestmark = pytest.mark.unit


async def new_order(uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner,
                    card: str = "tok_visa") -> str:
    carts.lines["u1"] = (LAMP,)
    placed = await place_order(uow, carts, runner, user_id="u1", idempotency_key=card,
                               card_token=card)
    uow.state.published.clear()
    return placed.order.id


async def answer(uow: FakeUnitOfWork, runner: SagaRunner, order_id: str, kind: ReplyKind,
                 step: Step, reason: str = "") -> None:
    async with uow() as orders:
        await runner.on_reply(orders, order_id, Reply(kind, f"{order_id}:{step}", reason))


def status_of(uow: FakeUnitOfWork, order_id: str) -> Status:
    return uow.state.orders[order_id].order.status


async def test_each_reply_sends_the_next_command_until_confirmed(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner,
        metrics: FakeMetrics) -> None:
    oid = await new_order(uow, carts, runner)
    await answer(uow, runner, oid, ReplyKind.STOCK_RESERVED, Step.RESERVE)
    (authorize, msg_id), = uow.state.published
    assert isinstance(authorize, AuthorizePayment) and msg_id == f"{oid}.authorize"
    assert authorize.idempotency_key == f"{oid}:authorize" and authorize.amount_minor == 2500
    assert authorize.capture  # the default: captured on authorization
    await answer(uow, runner, oid, ReplyKind.PAYMENT_CAPTURED, Step.AUTHORIZE)
    assert [type(m) for m, _ in uow.state.published] == [AuthorizePayment, OrderConfirmed]
    confirmed, msg_id = uow.state.published[-1]
    assert isinstance(confirmed, OrderConfirmed) and msg_id == f"{oid}.confirmed"
    assert status_of(uow, oid) is Status.CONFIRMED
    assert metrics.events == ["placed", "confirmed", "confirmed-by:authorize"]
    assert [note for o, _, note in uow.state.journal if o == oid][-1] == \
        "payment authorized and captured; confirmed"


async def test_the_confirmation_names_the_cart_version_the_order_was_taken_from(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner) -> None:
    carts.versions["u1"] = 41
    oid = await new_order(uow, carts, runner)
    carts.versions["u1"] = 42  # the buyer changes the cart before the order is confirmed
    await answer(uow, runner, oid, ReplyKind.STOCK_RESERVED, Step.RESERVE)
    await answer(uow, runner, oid, ReplyKind.PAYMENT_CAPTURED, Step.AUTHORIZE)
    confirmed, _ = uow.state.published[-1]
    assert isinstance(confirmed, OrderConfirmed) and confirmed.cart_version == 41


async def test_with_capture_on_authorize_off_the_capture_is_a_step_of_its_own(
        uow: FakeUnitOfWork, carts: FakeCarts, metrics: FakeMetrics) -> None:
    runner = SagaRunner(StatusNotices(), DEADLINES, metrics, capture_on_authorize=False)
    oid = await new_order(uow, carts, runner)
    await answer(uow, runner, oid, ReplyKind.STOCK_RESERVED, Step.RESERVE)
    authorize = uow.state.published[-1][0]
    assert isinstance(authorize, AuthorizePayment) and not authorize.capture
    await answer(uow, runner, oid, ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE)
    capture, msg_id = uow.state.published[-1]
    assert isinstance(capture, CapturePayment) and msg_id == f"{oid}.capture"
    assert capture.idempotency_key == f"{oid}:capture" and capture.amount_minor == 2500
    assert status_of(uow, oid) is Status.PAYMENT_AUTHORIZED
    await answer(uow, runner, oid, ReplyKind.PAYMENT_CAPTURED, Step.CAPTURE)
    assert [type(m) for m, _ in uow.state.published] == [AuthorizePayment, CapturePayment,
                                                         OrderConfirmed]
    assert status_of(uow, oid) is Status.CONFIRMED
    assert metrics.events == ["placed", "confirmed", "confirmed-by:capture"]


async def test_a_payments_that_only_authorizes_gets_a_capture_command(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner,
        metrics: FakeMetrics) -> None:
    oid = await new_order(uow, carts, runner)
    await answer(uow, runner, oid, ReplyKind.STOCK_RESERVED, Step.RESERVE)
    await answer(uow, runner, oid, ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE)
    assert isinstance(uow.state.published[-1][0], CapturePayment)
    await answer(uow, runner, oid, ReplyKind.PAYMENT_CAPTURED, Step.CAPTURE)
    assert status_of(uow, oid) is Status.CONFIRMED
    assert metrics.events[-1] == "confirmed-by:capture"


async def test_a_waiter_for_the_final_state_wakes_only_at_the_end(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner) -> None:
    oid = await new_order(uow, carts, runner)
    final = runner.notices.watch(oid, final_only=True)
    every = runner.notices.watch(oid, final_only=False)
    await answer(uow, runner, oid, ReplyKind.STOCK_RESERVED, Step.RESERVE)
    assert every.is_set() and not final.is_set()
    await answer(uow, runner, oid, ReplyKind.PAYMENT_CAPTURED, Step.AUTHORIZE)
    assert final.is_set()
    finished = runner.notices.finished(oid)  # handed over with the notice: no read needed
    assert finished is not None and finished.status is Status.CONFIRMED
    assert finished.total_minor == 2500 and finished.lines == (LAMP,)


async def test_a_declined_payment_releases_the_stock_then_cancels(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner,
        metrics: FakeMetrics) -> None:
    oid = await new_order(uow, carts, runner, card="tok_decline")
    await answer(uow, runner, oid, ReplyKind.STOCK_RESERVED, Step.RESERVE)
    await answer(uow, runner, oid, ReplyKind.PAYMENT_DECLINED, Step.AUTHORIZE, "card-declined")
    release = uow.state.published[-1][0]
    assert isinstance(release, ReleaseStock) and release.idempotency_key == f"{oid}:release"
    assert status_of(uow, oid) is Status.CANCELLING
    await answer(uow, runner, oid, ReplyKind.STOCK_RELEASED, Step.RELEASE)
    cancelled = uow.state.published[-1][0]
    assert isinstance(cancelled, OrderCancelled) and cancelled.reason == "payment-declined"
    assert metrics.events[-1] == "cancelled:payment-declined"


async def test_a_stale_reply_changes_nothing(uow: FakeUnitOfWork, carts: FakeCarts,
                                             runner: SagaRunner) -> None:
    oid = await new_order(uow, carts, runner)
    await answer(uow, runner, oid, ReplyKind.PAYMENT_CAPTURED, Step.CAPTURE)
    await answer(uow, runner, oid, ReplyKind.PAYMENT_CAPTURED, Step.AUTHORIZE)
    assert status_of(uow, oid) is Status.PENDING and uow.state.published == []


async def test_a_saga_moved_by_someone_else_raises_and_writes_nothing(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner) -> None:
    oid = await new_order(uow, carts, runner)
    stored = uow.state.orders[oid]
    stale = stored.record
    async with uow() as orders:  # another instance saves first
        await orders.save(stale.saga, now=1.0, journal=JournalEntry("reserve", "elsewhere", 1.0))
    journal = len(uow.state.journal)
    with pytest.raises(RuntimeError, match="changed concurrently"):
        async with uow() as orders:
            orders.load = lambda order_id: _async(stale)  # type: ignore[method-assign]
            await runner.on_reply(orders, oid, Reply(ReplyKind.STOCK_RESERVED, f"{oid}:reserve"))
    assert uow.state.published == [] and len(uow.state.journal) == journal


async def _async(value: object) -> object:
    await asyncio.sleep(0)
    return value


async def test_the_sweeper_cancels_a_payment_past_its_deadline(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner,
        metrics: FakeMetrics) -> None:
    oid = await new_order(uow, carts, runner)
    await answer(uow, runner, oid, ReplyKind.STOCK_RESERVED, Step.RESERVE)
    uow.state.published.clear()
    assert await runner.sweep(uow) is False and uow.state.published == []  # not yet due
    stored = uow.state.orders[oid]
    due = stored.record.saga.deadline_at
    assert due is not None
    stored.record = replace(stored.record, saga=replace(stored.record.saga, deadline_at=due - 1e3))
    assert await runner.sweep(uow) is False
    void = uow.state.published[-1][0]
    assert isinstance(void, VoidPayment) and status_of(uow, oid) is Status.CANCELLING
    assert metrics.events[-1] == f"timeout:{Step.AUTHORIZE}"


async def test_no_deadline_is_acted_on_while_the_broker_is_away_and_each_restarts_after(
        uow: FakeUnitOfWork, carts: FakeCarts, metrics: FakeMetrics) -> None:
    reachable = False
    runner = SagaRunner(StatusNotices(), DEADLINES, metrics, broker_up=lambda: reachable)
    oid = await new_order(uow, carts, runner)
    stored = uow.state.orders[oid]
    stored.record = replace(stored.record, saga=replace(stored.record.saga, deadline_at=0.0))
    assert await runner.sweep(uow) is False  # ReserveStock still waits in the outbox
    assert status_of(uow, oid) is Status.PENDING and uow.state.published == []

    reachable = True
    back = time.time()
    assert await runner.sweep(uow) is False
    assert status_of(uow, oid) is Status.PENDING and uow.state.published == []
    restarted = uow.state.orders[oid].record.saga.deadline_at
    assert restarted is not None and restarted >= back + DEADLINES[Step.RESERVE]
    assert "the broker was unreachable" in uow.state.journal[-1][2]

    stored = uow.state.orders[oid]  # a deadline missed with the broker there is acted on
    stored.record = replace(stored.record, saga=replace(stored.record.saga, deadline_at=0.0))
    await runner.sweep(uow)
    assert status_of(uow, oid) is Status.CANCELLING
    assert isinstance(uow.state.published[-1][0], ReleaseStock)


async def test_an_authorization_after_the_saga_gave_up_is_voided(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner,
        metrics: FakeMetrics) -> None:
    oid = await new_order(uow, carts, runner)
    await answer(uow, runner, oid, ReplyKind.STOCK_REJECTED, Step.RESERVE, "insufficient-stock")
    assert status_of(uow, oid) is Status.CANCELLED
    await answer(uow, runner, oid, ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE)
    void, msg_id = uow.state.published[-1]
    assert isinstance(void, VoidPayment) and msg_id == f"{oid}.void.late"
    assert metrics.events[-1] == "late:payment-authorized"


async def test_a_capture_after_the_saga_gave_up_is_refunded_by_its_own_void(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner,
        metrics: FakeMetrics) -> None:
    oid = await new_order(uow, carts, runner)
    await answer(uow, runner, oid, ReplyKind.STOCK_RESERVED, Step.RESERVE)
    stored = uow.state.orders[oid]
    stored.record = replace(stored.record, saga=replace(stored.record.saga, deadline_at=0.0))
    await runner.sweep(uow)  # the authorization missed its deadline: void, then release
    await answer(uow, runner, oid, ReplyKind.PAYMENT_VOIDED, Step.VOID, "nothing")
    await answer(uow, runner, oid, ReplyKind.STOCK_RELEASED, Step.RELEASE)
    assert status_of(uow, oid) is Status.CANCELLED
    await answer(uow, runner, oid, ReplyKind.PAYMENT_CAPTURED, Step.AUTHORIZE)
    void, msg_id = uow.state.published[-1]
    assert isinstance(void, VoidPayment) and msg_id == f"{oid}.void.late"
    assert void.idempotency_key == f"{oid}:void"
    assert status_of(uow, oid) is Status.CANCELLED
    assert metrics.events[-1] == "late:payment-captured"
    assert uow.state.journal[-1][2] == "late payment capture; refunding it"


def test_each_transition_is_named_for_its_span_event() -> None:
    def key(step: Step) -> Reply:
        return Reply(ReplyKind.STOCK_RESERVED, f"o1:{step}")

    start = machine.begin("o1", 0.0, DEADLINES)
    reserved = machine.on_reply(start.saga, key(Step.RESERVE), 0.0, DEADLINES)
    two_step = machine.on_reply(start.saga, key(Step.RESERVE), 0.0, DEADLINES,
                                capture_on_authorize=False)
    captured = machine.on_reply(reserved.saga, Reply(ReplyKind.PAYMENT_CAPTURED, "o1:authorize"),
                                0.0, DEADLINES)
    authorized = machine.on_reply(two_step.saga,
                                  Reply(ReplyKind.PAYMENT_AUTHORIZED, "o1:authorize"), 0.0,
                                  DEADLINES)
    timed_out = machine.on_timeout(reserved.saga, 1e6, DEADLINES)
    late = machine.on_reply(timed_out.saga, Reply(ReplyKind.PAYMENT_CAPTURED, "o1:authorize"),
                            0.0, DEADLINES)
    stale = machine.on_reply(reserved.saga, key(Step.RESERVE), 0.0, DEADLINES)
    assert [step_name(t) for t in (start, reserved, two_step, captured, authorized, timed_out,
                                   late, stale)] == [
        "saga.reserve", "saga.authorize-capture", "saga.authorize", "saga.confirmed",
        "saga.capture", "saga.compensate.void", "saga.compensate.void.late", "saga.ignored"]


async def test_a_runner_just_started_restarts_overdue_deadlines_before_acting_on_any(
        uow: FakeUnitOfWork, carts: FakeCarts, metrics: FakeMetrics) -> None:
    # an orders restarted after a broker outage cannot know of it: the step's command (or its
    # answer) may have waited in an outbox all along, so it gets its time again, not a cancel
    runner = SagaRunner(StatusNotices(), DEADLINES, metrics, restart_deadlines_first=True)
    oid = await new_order(uow, carts, runner)
    stored = uow.state.orders[oid]
    stored.record = replace(stored.record, saga=replace(stored.record.saga, deadline_at=0.0))
    started = time.time()
    await runner.sweep(uow)
    assert status_of(uow, oid) is Status.PENDING
    restarted = uow.state.orders[oid].record.saga.deadline_at
    assert restarted is not None and restarted >= started + DEADLINES[Step.RESERVE]

    stored = uow.state.orders[oid]  # after that first pass, a missed deadline is acted on
    stored.record = replace(stored.record, saga=replace(stored.record.saga, deadline_at=0.0))
    await runner.sweep(uow)
    assert status_of(uow, oid) is Status.CANCELLING
