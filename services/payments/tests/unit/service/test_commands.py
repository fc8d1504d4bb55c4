"""Each saga command against a payment in each state: events appended, reply published."""

from __future__ import annotations

import msgspec
import pytest

from contracts.payments import (
    AuthorizePayment,
    CapturePayment,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentDeclined,
    PaymentVoided,
    VoidPayment,
)
from payments.domain.errors import CaptureRefused
from payments.domain.events import (
    AuthorizationRequested,
    Authorized,
    Captured,
    Declined,
    PaymentEvent,
    Refunded,
    Voided,
    VoidRequested,
)
from payments.service import commands
from payments.service.late_authorizations import LateAuthorizer
from payments.service.ports import AuthorizationRequest, Lease, StoredEvent

from ..conftest import STATES
from .conftest import LEASE, T0, FakeUnitOfWork, RecordingMetrics, ScriptedProcessor, Store

pytestmark = pytest.mark.unit


def authorize(token: str = "tok_visa", amount: int = 1500, *,
              capture: bool = False) -> AuthorizePayment:
    return AuthorizePayment(order_id="o1", idempotency_key="o1:authorize", user_id="u1",
                            amount_minor=amount, currency="EUR", card_token=token,
                            capture=capture)


NOW = 1_000_000.0
VISA_REQUESTED = AuthorizationRequested("u1", 1500, "EUR", "visa", "o1:authorize")
VISA_REQUESTED_CAPTURE = AuthorizationRequested("u1", 1500, "EUR", "visa", "o1:authorize",
                                                capture=True)
CAPTURE = CapturePayment(order_id="o1", idempotency_key="o1:capture", amount_minor=1500)
VOID = VoidPayment(order_id="o1", idempotency_key="o1:void")


def store_in(name: str) -> Store:
    store = Store()
    if STATES[name]:
        store.streams["o1"] = [StoredEvent(i, e, T0) for i, e in enumerate(STATES[name], 1)]
    return store


async def run_authorize(store: Store, cmd: AuthorizePayment,
                        metrics: RecordingMetrics | None = None,
                        lease: Lease = LEASE) -> AuthorizationRequest | None:
    """The command's own transaction: what it records, claims and answers."""
    async with FakeUnitOfWork(store)() as payments:
        return await commands.authorize_payment(payments, metrics or RecordingMetrics(), cmd,
                                                "m1.r", lease, NOW)


async def decide(store: Store, cmd: AuthorizePayment, metrics: RecordingMetrics | None = None,
                 processor: ScriptedProcessor | None = None) -> ScriptedProcessor:
    """The command, then (after its commit, as the handler does) the processor's answer."""
    metrics = metrics or RecordingMetrics()
    processor = processor or ScriptedProcessor()
    request = await run_authorize(store, cmd, metrics)
    if request is not None:
        late = LateAuthorizer(FakeUnitOfWork(store), processor, metrics, lease=LEASE)
        late.schedule(request)
        await late.wait_idle()
    return processor


async def run_capture(store: Store, cmd: CapturePayment = CAPTURE) -> None:
    async with FakeUnitOfWork(store)() as payments:
        await commands.capture_payment(payments, RecordingMetrics(), cmd, "m2.r")


async def run_void(store: Store, metrics: RecordingMetrics | None = None) -> None:
    async with FakeUnitOfWork(store)() as payments:
        await commands.void_payment(payments, metrics or RecordingMetrics(), VOID, "m3.r")


# --- AuthorizePayment -------------------------------------------------------------------------

async def test_a_good_card_is_authorized_after_the_request_commits() -> None:
    store, metrics = Store(), RecordingMetrics()
    processor = await decide(store, authorize(), metrics)
    assert len(processor.asked) == 1
    assert store.events("o1") == [VISA_REQUESTED, Authorized(1500, "EUR")]
    assert store.messages() == [PaymentAuthorized(
        order_id="o1", idempotency_key="o1:authorize", payment_id="o1", amount_minor=1500,
        currency="EUR")]
    assert store.published[0].msg_id == "o1.authorize.late"
    assert metrics.counts["authorization.authorized"] == 1


@pytest.mark.parametrize(("token", "reason"), [("tok_decline", "card-declined"),
                                               ("tok_stolen", "invalid-token")])
async def test_a_bad_card_is_declined(token: str, reason: str) -> None:
    store = Store()
    await decide(store, authorize(token))
    assert store.events("o1")[-1] == Declined(reason)
    assert store.messages() == [PaymentDeclined(order_id="o1", idempotency_key="o1:authorize",
                                                reason=reason)]


async def test_a_request_is_recorded_claimed_and_handed_back_without_asking_the_processor(
        ) -> None:
    store = Store()
    later = await run_authorize(store, authorize("tok_timeout"))
    assert later == AuthorizationRequest("o1", "o1:authorize", 1500, "EUR", "timeout")
    assert store.events("o1") == [AuthorizationRequested("u1", 1500, "EUR", "timeout",
                                                         "o1:authorize")]
    assert store.claims["o1"] == (LEASE.owner, NOW + LEASE.seconds)
    assert store.messages() == []


async def test_metrics_count_only_what_commits() -> None:
    store, metrics = Store(), RecordingMetrics()
    with pytest.raises(RuntimeError, match="batch failed"):
        async with FakeUnitOfWork(store)() as payments:
            await commands.authorize_payment(payments, metrics, authorize(), "m1.r", LEASE, NOW)
            raise RuntimeError("batch failed")  # a later message of the batch broke it
    assert store.events("o1") == [] and store.messages() == []
    assert metrics.counts == {} and metrics.latencies == []
    await decide(store, authorize(), metrics)  # applied again, alone: counted once
    assert metrics.counts == {"authorization.authorized": 1}


def test_the_card_token_itself_is_never_stored() -> None:
    assert "tok_timeout" not in repr(AuthorizationRequested("u1", 1, "EUR", "timeout", "k"))


@pytest.mark.parametrize(("name", "reply"), [
    ("authorized", PaymentAuthorized(order_id="o1", idempotency_key="o1:authorize:again",
                                     payment_id="o1", amount_minor=1500, currency="EUR")),
    ("captured", PaymentAuthorized(order_id="o1", idempotency_key="o1:authorize:again",
                                   payment_id="o1", amount_minor=1500, currency="EUR")),
    ("declined", PaymentDeclined(order_id="o1", idempotency_key="o1:authorize:again",
                                 reason="card-declined")),
])
async def test_a_decided_payment_answers_the_same_decision_again(
        name: str, reply: PaymentAuthorized | PaymentDeclined) -> None:
    store = store_in(name)
    cmd = msgspec.structs.replace(authorize("tok_decline"), idempotency_key="o1:authorize:again")
    await run_authorize(store, cmd)
    assert store.events("o1") == STATES[name]  # nothing appended
    assert store.messages() == [reply]


async def test_an_authorization_after_a_void_is_declined_as_voided() -> None:
    store = store_in("void_requested")
    await run_authorize(store, authorize())
    assert store.events("o1")[-1] == Declined("voided", "u1", 1500, "EUR", "o1:authorize")
    assert store.messages() == [PaymentDeclined(order_id="o1", idempotency_key="o1:authorize",
                                                reason="voided")]


async def test_a_repeated_request_while_pending_appends_nothing() -> None:
    store = store_in("pending")
    later = await run_authorize(store, authorize("tok_timeout"))
    assert later is not None and later.card_token_kind == "timeout"
    assert store.events("o1") == STATES["pending"] and store.messages() == []


async def test_a_repeated_request_held_by_another_instance_is_left_to_it() -> None:
    store = store_in("pending")
    assert await run_authorize(store, authorize("tok_timeout"), lease=Lease("other", 60.0))
    assert await run_authorize(store, authorize("tok_timeout")) is None
    assert store.events("o1") == STATES["pending"] and store.messages() == []


# --- AuthorizePayment with capture ------------------------------------------------------------

CAPTURED_ON_AUTHORIZE = PaymentCaptured(order_id="o1", idempotency_key="o1:authorize",
                                        payment_id="o1", amount_minor=1500, currency="EUR")


async def test_a_good_card_asked_with_capture_is_authorized_and_captured_in_one_step() -> None:
    store, metrics = Store(), RecordingMetrics()
    await decide(store, authorize(capture=True), metrics)
    assert store.events("o1") == [VISA_REQUESTED_CAPTURE, Authorized(1500, "EUR"),
                                  Captured(1500)]
    assert store.messages() == [CAPTURED_ON_AUTHORIZE]
    assert store.published[0].msg_id == "o1.authorize.late"
    assert metrics.counts == {"authorization.authorized": 1, "captured": 1}
    assert store.stream("o1").payment.net_minor == 1500


async def test_a_bad_card_asked_with_capture_is_declined_and_charged_nothing() -> None:
    store = Store()
    await decide(store, authorize("tok_decline", capture=True))
    assert store.events("o1")[-1] == Declined("card-declined")
    assert store.stream("o1").payment.net_minor == 0
    assert store.messages() == [PaymentDeclined(order_id="o1", idempotency_key="o1:authorize",
                                                reason="card-declined")]


async def test_a_slow_card_asked_with_capture_is_recorded_with_the_flag() -> None:
    store = Store()
    later = await run_authorize(store, authorize("tok_timeout", capture=True))
    assert later == AuthorizationRequest("o1", "o1:authorize", 1500, "EUR", "timeout")
    assert store.events("o1") == [AuthorizationRequested("u1", 1500, "EUR", "timeout",
                                                         "o1:authorize", capture=True)]
    assert store.messages() == []


async def test_a_repeated_authorize_and_capture_is_answered_again_never_charged_twice() -> None:
    store, metrics = Store(), RecordingMetrics()
    processor = await decide(store, authorize(capture=True), metrics)
    await decide(store, authorize(capture=True), metrics, processor)
    assert store.events("o1") == [VISA_REQUESTED_CAPTURE, Authorized(1500, "EUR"),
                                  Captured(1500)]
    assert store.messages() == [CAPTURED_ON_AUTHORIZE, CAPTURED_ON_AUTHORIZE]
    assert metrics.counts["captured"] == 1 and len(processor.asked) == 1


@pytest.mark.parametrize(("name", "reply"), [
    ("captured", CAPTURED_ON_AUTHORIZE),
    ("late_captured", CAPTURED_ON_AUTHORIZE),
    # decided without capture: answered as it was decided; the asker captures on its own
    ("authorized", PaymentAuthorized(order_id="o1", idempotency_key="o1:authorize",
                                     payment_id="o1", amount_minor=1500, currency="EUR")),
    # voided before it was ever captured: nothing to report as captured
    ("late_voided", PaymentAuthorized(order_id="o1", idempotency_key="o1:authorize",
                                      payment_id="o1", amount_minor=1500, currency="EUR")),
    ("declined", PaymentDeclined(order_id="o1", idempotency_key="o1:authorize",
                                 reason="card-declined")),
])
async def test_a_decided_payment_answers_an_authorize_and_capture_from_its_stream(
        name: str, reply: PaymentAuthorized | PaymentCaptured | PaymentDeclined) -> None:
    store = store_in(name)
    await run_authorize(store, authorize(capture=True))
    assert store.events("o1") == STATES[name]  # nothing appended: no second charge
    assert store.messages() == [reply]


async def test_an_authorize_and_capture_after_a_void_is_declined_as_voided() -> None:
    store = store_in("void_requested")
    await run_authorize(store, authorize(capture=True))
    assert store.events("o1")[-1] == Declined("voided", "u1", 1500, "EUR", "o1:authorize")
    assert store.stream("o1").payment.net_minor == 0
    assert store.messages() == [PaymentDeclined(order_id="o1", idempotency_key="o1:authorize",
                                                reason="voided")]


async def test_a_repeated_authorize_and_capture_while_pending_appends_nothing() -> None:
    store = store_in("pending_capture")
    later = await run_authorize(store, authorize("tok_timeout", capture=True))
    assert later is not None and store.events("o1") == STATES["pending_capture"]
    assert store.messages() == []


async def test_a_capture_on_authorization_is_refunded_by_a_void() -> None:
    store = Store()
    await decide(store, authorize(capture=True))
    await run_void(store)
    assert store.events("o1")[-1] == Refunded(1500)
    assert store.stream("o1").payment.net_minor == 0
    assert store.messages()[-1] == PaymentVoided(order_id="o1", idempotency_key="o1:void",
                                                 outcome="refunded")


async def test_a_capture_command_after_a_capture_on_authorization_charges_nothing_more() -> None:
    store = Store()
    await decide(store, authorize(capture=True))
    await run_capture(store)
    assert [e for e in store.events("o1") if isinstance(e, Captured)] == [Captured(1500)]
    assert store.messages()[-1] == PaymentCaptured(
        order_id="o1", idempotency_key="o1:capture", payment_id="o1", amount_minor=1500,
        currency="EUR")


# --- CapturePayment ---------------------------------------------------------------------------

CAPTURED = PaymentCaptured(order_id="o1", idempotency_key="o1:capture", payment_id="o1",
                           amount_minor=1500, currency="EUR")


async def test_an_authorized_payment_is_captured() -> None:
    store = store_in("authorized")
    await run_capture(store)
    assert store.events("o1")[-1] == Captured(1500)
    assert store.messages() == [CAPTURED]


async def test_a_second_capture_is_answered_but_never_charged() -> None:
    store = store_in("authorized")
    await run_capture(store)
    await run_capture(store)
    assert [e for e in store.events("o1") if isinstance(e, Captured)] == [Captured(1500)]
    assert store.messages() == [CAPTURED, CAPTURED]


async def test_a_capture_of_the_wrong_amount_is_refused_without_reply() -> None:
    store = store_in("authorized")
    with pytest.raises(CaptureRefused):
        await run_capture(store, msgspec.structs.replace(CAPTURE, amount_minor=999))
    assert store.events("o1") == STATES["authorized"] and store.messages() == []


@pytest.mark.parametrize("name", ["new", "pending", "declined", "voided"])
async def test_a_payment_without_a_live_authorization_is_not_captured(name: str) -> None:
    store = store_in(name)
    with pytest.raises(CaptureRefused):
        await run_capture(store)
    assert store.events("o1") == STATES[name] and store.messages() == []


# --- VoidPayment ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "appended", "outcome"), [
    ("new", [VoidRequested("o1:void")], "nothing"),
    ("void_requested", [], "nothing"),
    ("pending", [VoidRequested("o1:void")], "nothing"),
    ("pending_void_requested", [], "nothing"),
    ("authorized", [Voided()], "voided"),
    ("declined", [], "nothing"),
    ("captured", [Refunded(1500)], "refunded"),
    ("voided", [], "voided"),
    ("refunded", [], "refunded"),
    ("late_voided", [], "voided"),
])
async def test_void_in_every_state_appends_and_answers(
        name: str, appended: list[PaymentEvent], outcome: str) -> None:
    store = store_in(name)
    await run_void(store)
    assert store.events("o1") == [*STATES[name], *appended]
    assert store.messages() == [PaymentVoided(order_id="o1", idempotency_key="o1:void",
                                              outcome=outcome)]  # type: ignore[arg-type]
    assert store.published[0].msg_id == "m3.r"


async def test_a_repeated_void_answers_again_without_a_second_event() -> None:
    store, metrics = store_in("captured"), RecordingMetrics()
    await run_void(store, metrics)
    await run_void(store, metrics)
    assert [e for e in store.events("o1") if isinstance(e, Refunded)] == [Refunded(1500)]
    assert [m.outcome for m in store.messages()] == ["refunded", "refunded"]  # type: ignore[attr-defined]
    assert metrics.counts["refunded"] == 1
