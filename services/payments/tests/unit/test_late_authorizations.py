"""Authorizations answered later, in the background: landing, voids racing them, resuming."""

from __future__ import annotations

import asyncio

import pytest

from contracts.payments import PaymentAuthorized, PaymentDeclined, PaymentVoided
from payments.domain.events import AuthorizationRequested, Authorized, Declined, Voided
from payments.domain.payment import Decision, Status
from payments.service.late_authorizations import LateAuthorizer
from payments.service.ports import AuthorizationRequest, StoredEvent

from .fakes import T0, RecordingMetrics, ScriptedProcessor, Store, sessions
from .test_commands import authorize, run_authorize, run_void

pytestmark = pytest.mark.unit

AUTHORIZED_LATE = PaymentAuthorized(order_id="o1", idempotency_key="o1:authorize",
                                    payment_id="o1", amount_minor=1500, currency="EUR")


def authorizer(store: Store, processor: ScriptedProcessor, **kwargs: float) -> LateAuthorizer:
    return LateAuthorizer(sessions(store), processor, RecordingMetrics(), **kwargs)  # type: ignore[arg-type]


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
    assert store.published[-1].msg_id == "o1.void.late"


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


def pending_store(*order_ids: str) -> Store:
    store = Store()
    for order_id in order_ids:
        store.streams[order_id] = [StoredEvent(1, AuthorizationRequested(
            "u1", 700, "EUR", "timeout", f"{order_id}:authorize"), T0)]
    return store


async def test_start_resumes_every_payment_left_waiting() -> None:
    store, processor = pending_store("o1", "o2"), ScriptedProcessor()
    late = authorizer(store, processor, sweep_interval=60)
    await late.start()
    try:
        assert late.in_flight == 2
        processor.release.set()
        await late.wait_idle()
    finally:
        await late.stop()
    assert {o: store.stream(o).payment.status for o in ("o1", "o2")} == {
        "o1": Status.AUTHORIZED, "o2": Status.AUTHORIZED}
    assert {p.msg_id for p in store.published} == {"o1.authorize.late", "o2.authorize.late"}


async def test_beyond_the_bound_payments_wait_for_the_sweep() -> None:
    store, processor = pending_store("o1", "o2"), ScriptedProcessor()
    late = authorizer(store, processor, max_in_flight=1, sweep_interval=0.01)
    await late.start()
    try:
        assert late.in_flight == 1
        processor.release.set()
        for _ in range(200):
            if all(store.stream(o).payment.decided for o in ("o1", "o2")):
                break
            await asyncio.sleep(0.01)
    finally:
        await late.stop()
    assert all(store.stream(o).payment.status is Status.AUTHORIZED for o in ("o1", "o2"))


async def test_a_request_scheduled_before_its_commit_lands_once_visible() -> None:
    store, processor = Store(), ScriptedProcessor()
    processor.release.set()
    late = authorizer(store, processor)
    late.schedule(AuthorizationRequest("o1", "o1:authorize", 700, "EUR", "timeout"))
    await asyncio.sleep(0.01)  # the task looked and found nothing yet
    store.streams.update(pending_store("o1").streams)  # the handler's transaction commits
    await late.wait_idle()
    assert store.stream("o1").payment.status is Status.AUTHORIZED


async def test_stop_cancels_what_is_still_waiting() -> None:
    store, processor = pending_store("o1"), ScriptedProcessor()
    late = authorizer(store, processor, sweep_interval=60)
    await late.start()
    await late.stop()
    assert late.in_flight == 0
    assert store.stream("o1").payment.status is Status.PENDING  # resumed at the next start
