"""Authorizations answered later, in the background: landing, voids racing them, resuming."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest

from contracts.payments import PaymentAuthorized, PaymentCaptured, PaymentDeclined, PaymentVoided
from payments.domain.events import (
    AuthorizationRequested,
    Authorized,
    Captured,
    Declined,
    Refunded,
    Voided,
)
from payments.domain.payment import Decision, Status
from payments.service.late_authorizations import LateAuthorizer
from payments.service.ports import StoredEvent

from .conftest import T0, FakeUnitOfWork, RecordingMetrics, ScriptedProcessor, Store
from .test_commands import authorize, run_authorize, run_void

pytestmark = pytest.mark.unit

AUTHORIZED_LATE = PaymentAuthorized(order_id="o1", idempotency_key="o1:authorize",
                                    payment_id="o1", amount_minor=1500, currency="EUR")


def authorizer(store: Store, processor: ScriptedProcessor, max_in_flight: int = 1000,
               metrics: RecordingMetrics | None = None) -> LateAuthorizer:
    return LateAuthorizer(FakeUnitOfWork(store), processor, metrics or RecordingMetrics(),
                          max_in_flight=max_in_flight)


async def test_a_slow_card_is_authorized_when_the_processor_answers() -> None:
    store, processor = Store(), ScriptedProcessor()
    late = authorizer(store, processor)
    request = await run_authorize(store, authorize("tok_timeout"))
    assert request is not None and late.schedule(request)
    await asyncio.sleep(0)
    assert store.stream("o1").payment.status is Status.PENDING
    processor.release.set()
    await late.wait_idle()
    assert store.events("o1")[-1] == Authorized(1500, "EUR")
    assert store.messages() == [AUTHORIZED_LATE]
    assert (store.published[0].msg_id, store.published[0].correlation_id) == (
        "o1.authorize.late", "o1")


async def test_a_late_decline_is_published_as_a_decline() -> None:
    store = Store()
    processor = ScriptedProcessor(later=Decision.decline("card-declined"))
    late = authorizer(store, processor)
    request = await run_authorize(store, authorize("tok_timeout"))
    assert request is not None
    late.schedule(request)
    processor.release.set()
    await late.wait_idle()
    assert store.events("o1")[-1] == Declined("card-declined")
    assert store.messages() == [PaymentDeclined(order_id="o1", idempotency_key="o1:authorize",
                                                reason="card-declined")]


async def test_a_void_before_the_late_authorization_leaves_no_charge() -> None:
    store, processor = Store(), ScriptedProcessor()
    late = authorizer(store, processor)
    request = await run_authorize(store, authorize("tok_timeout"))
    assert request is not None
    late.schedule(request)
    await asyncio.sleep(0)
    await run_void(store)  # the saga gave up before the processor answered
    processor.release.set()
    await late.wait_idle()
    payment = store.stream("o1").payment
    assert payment.status is Status.VOIDED and payment.net_minor == 0
    assert store.events("o1")[-2:] == [Authorized(1500, "EUR"), Voided()]
    assert store.messages() == [
        PaymentVoided(order_id="o1", idempotency_key="o1:void", outcome="nothing"),
        AUTHORIZED_LATE,
        PaymentVoided(order_id="o1", idempotency_key="o1:void", outcome="voided"),
    ]
    assert store.published[-1].msg_id == "o1.authorize.late.voided"


async def test_one_payment_asks_the_processor_once() -> None:
    store, processor = Store(), ScriptedProcessor()
    late = authorizer(store, processor)
    request = await run_authorize(store, authorize("tok_timeout"))
    assert request is not None
    assert late.schedule(request) and not late.schedule(request)
    await asyncio.sleep(0)
    processor.release.set()
    await late.wait_idle()
    assert len(processor.asked) == 1
    assert sum(isinstance(e, Authorized) for e in store.events("o1")) == 1


def pending_store(*order_ids: str, capture: bool = False) -> Store:
    store = Store()
    for order_id in order_ids:
        store.streams[order_id] = [StoredEvent(1, AuthorizationRequested(
            "u1", 700, "EUR", "timeout", f"{order_id}:authorize", capture), T0)]
    return store


async def test_resume_schedules_every_payment_left_waiting() -> None:
    store, processor = pending_store("o1", "o2"), ScriptedProcessor()
    late = authorizer(store, processor)
    try:
        assert await late.resume() == 2 and late.in_flight == 2
        assert await late.resume() == 0  # already in flight: asked once
        processor.release.set()
        await late.wait_idle()
    finally:
        await late.stop()
    assert {o: store.stream(o).payment.status for o in ("o1", "o2")} == {
        "o1": Status.AUTHORIZED, "o2": Status.AUTHORIZED}
    assert {p.msg_id for p in store.published} == {"o1.authorize.late", "o2.authorize.late"}
    assert len(processor.asked) == 2


async def test_beyond_the_bound_payments_wait_for_the_next_resume() -> None:
    store, processor = pending_store("o1", "o2"), ScriptedProcessor()
    late = authorizer(store, processor, max_in_flight=1)
    processor.release.set()
    try:
        assert await late.resume() == 1 and late.in_flight == 1
        await late.wait_idle()
        assert await late.resume() == 1
        await late.wait_idle()
        assert await late.resume() == 0
    finally:
        await late.stop()
    assert all(store.stream(o).payment.status is Status.AUTHORIZED for o in ("o1", "o2"))


async def test_an_answer_for_a_payment_not_pending_lands_nothing() -> None:
    store = pending_store("o1")
    late = authorizer(store, ScriptedProcessor())
    assert await late.land("o-unknown", Decision.approve()) is False
    assert await late.land("o1", Decision.approve()) is True
    assert await late.land("o1", Decision.approve()) is False  # landed already: once only
    assert store.events("o1")[1:] == [Authorized(700, "EUR")]
    assert len(store.published) == 1


async def test_the_business_events_are_counted_once_landed() -> None:
    store, metrics = pending_store("o1"), RecordingMetrics()
    processor = ScriptedProcessor()
    processor.release.set()
    late = authorizer(store, processor, metrics=metrics)
    await late.resume()
    await late.wait_idle()
    assert metrics.counts == {"authorization.authorized": 1} and len(metrics.latencies) == 1


async def test_stop_cancels_what_is_still_waiting() -> None:
    store, processor = pending_store("o1"), ScriptedProcessor()
    late = authorizer(store, processor)
    await late.resume()
    await late.stop()
    assert late.in_flight == 0
    assert store.stream("o1").payment.status is Status.PENDING  # resumed at the next start
    assert await late.resume() == 0  # stopped: nothing more is scheduled


# --- capture on authorization -----------------------------------------------------------------

CAPTURED_LATE = PaymentCaptured(order_id="o1", idempotency_key="o1:authorize", payment_id="o1",
                                amount_minor=1500, currency="EUR")


async def late_request(store: Store, late: LateAuthorizer) -> None:
    request = await run_authorize(store, authorize("tok_timeout", capture=True))
    assert request is not None and late.schedule(request)
    await asyncio.sleep(0)


async def test_a_slow_card_asked_with_capture_is_captured_when_the_processor_approves() -> None:
    store, processor, metrics = Store(), ScriptedProcessor(), RecordingMetrics()
    late = authorizer(store, processor, metrics=metrics)
    await late_request(store, late)
    processor.release.set()
    await late.wait_idle()
    assert store.events("o1")[-2:] == [Authorized(1500, "EUR"), Captured(1500)]
    assert store.messages() == [CAPTURED_LATE]
    assert (store.published[0].msg_id, store.published[0].correlation_id) == (
        "o1.authorize.late", "o1")
    assert store.stream("o1").payment.net_minor == 1500
    assert metrics.counts == {"authorization.authorized": 1, "captured": 1}


async def test_a_late_decline_asked_with_capture_charges_nothing() -> None:
    store = Store()
    processor = ScriptedProcessor(later=Decision.decline("card-declined"))
    late = authorizer(store, processor)
    await late_request(store, late)
    processor.release.set()
    await late.wait_idle()
    assert store.events("o1")[-1] == Declined("card-declined")
    assert store.stream("o1").payment.net_minor == 0
    assert store.messages() == [PaymentDeclined(order_id="o1", idempotency_key="o1:authorize",
                                                reason="card-declined")]


async def test_a_void_before_a_late_approval_asked_with_capture_leaves_no_charge() -> None:
    store, processor = Store(), ScriptedProcessor()
    late = authorizer(store, processor)
    await late_request(store, late)
    await run_void(store)  # the saga gave up before the processor answered
    processor.release.set()
    await late.wait_idle()
    payment = store.stream("o1").payment
    assert payment.status is Status.VOIDED and payment.captures == 0 and payment.net_minor == 0
    assert store.events("o1")[-2:] == [Authorized(1500, "EUR"), Voided()]
    assert store.messages() == [
        PaymentVoided(order_id="o1", idempotency_key="o1:void", outcome="nothing"),
        AUTHORIZED_LATE,  # nothing was captured, so nothing is reported captured
        PaymentVoided(order_id="o1", idempotency_key="o1:void", outcome="voided"),
    ]


async def test_a_void_after_a_late_capture_refunds_it() -> None:
    store, processor = Store(), ScriptedProcessor()
    late = authorizer(store, processor)
    await late_request(store, late)
    processor.release.set()
    await late.wait_idle()
    await run_void(store)
    assert store.events("o1")[-1] == Refunded(1500)
    assert store.stream("o1").payment.net_minor == 0
    assert store.messages()[-1] == PaymentVoided(order_id="o1", idempotency_key="o1:void",
                                                 outcome="refunded")


async def test_a_repeated_command_after_a_late_capture_gets_the_same_answer() -> None:
    store, processor = Store(), ScriptedProcessor()
    late = authorizer(store, processor)
    await late_request(store, late)
    processor.release.set()
    await late.wait_idle()
    assert await run_authorize(store, authorize("tok_timeout", capture=True)) is None
    assert store.messages() == [CAPTURED_LATE, CAPTURED_LATE]
    assert sum(isinstance(e, Captured) for e in store.events("o1")) == 1


async def test_a_late_capture_lands_once() -> None:
    store = pending_store("o1", capture=True)
    late = authorizer(store, ScriptedProcessor())
    assert await late.land("o1", Decision.approve()) is True
    assert await late.land("o1", Decision.approve()) is False
    assert store.events("o1")[1:] == [Authorized(700, "EUR"), Captured(700)]
    assert len(store.published) == 1


async def test_resume_captures_a_request_left_waiting_with_capture() -> None:
    store, processor = pending_store("o1", "o2", capture=True), ScriptedProcessor()
    processor.release.set()
    late = authorizer(store, processor)
    try:
        assert await late.resume() == 2
        await late.wait_idle()
    finally:
        await late.stop()
    assert all(store.stream(o).payment.status is Status.CAPTURED for o in ("o1", "o2"))
    assert {type(p.message) for p in store.published} == {PaymentCaptured}


async def test_resume_leaves_a_payment_another_instance_holds_until_its_lease_runs_out() -> None:
    store, processor = pending_store("o1"), ScriptedProcessor()
    processor.release.set()
    store.claims["o1"] = ("other", time.time() + 60)
    late = authorizer(store, processor)
    try:
        assert await late.resume() == 0 and processor.asked == []
        store.claims["o1"] = ("other", time.time() - 1)  # the other instance stopped renewing
        assert await late.resume() == 1
        await late.wait_idle()
    finally:
        await late.stop()
    assert len(processor.asked) == 1 and store.stream("o1").payment.status is Status.AUTHORIZED


async def test_answers_that_arrive_together_land_in_one_transaction() -> None:
    # a group commit: one transaction per payment cost a checkout a tenth of its CPU
    store, processor = Store(), ScriptedProcessor()
    uow = FakeUnitOfWork(store)
    late = LateAuthorizer(uow, processor, RecordingMetrics())
    orders = ("o1", "o2", "o3")
    for order_id in orders:
        command = msgspec.structs.replace(authorize("tok_timeout"), order_id=order_id,
                                          idempotency_key=f"{order_id}:authorize")
        request = await run_authorize(store, command)
        assert request is not None and late.schedule(request)
    await asyncio.sleep(0)
    before = uow.transactions
    processor.release.set()
    await late.wait_idle()
    assert uow.transactions - before == 1
    assert [store.stream(o).payment.status for o in orders] == [Status.AUTHORIZED] * 3
    assert sorted(p.msg_id for p in store.published) == [f"{o}.authorize.late" for o in orders]
