"""The fold of a payment's events and the pure decisions on the folded state."""

from __future__ import annotations

import pytest

from payments.domain import payment as rules
from payments.domain.errors import CaptureRefused
from payments.domain.events import (
    Authorized,
    Captured,
    Declined,
    PaymentEvent,
    Refunded,
    UnknownEventType,
    Voided,
    VoidRequested,
    event_name,
    event_type,
)
from payments.domain.payment import Decision, Status, fold

from ..conftest import STATES

pytestmark = pytest.mark.unit


def state(name: str) -> rules.Payment:
    return fold("o1", STATES[name])


def test_an_empty_stream_folds_to_a_new_payment() -> None:
    payment = fold("o1", [])
    assert (payment.status, payment.version, payment.net_minor) == (Status.NEW, 0, 0)


def test_folding_counts_versions_and_money() -> None:
    payment = state("refunded")
    assert payment.version == 3
    assert (payment.authorized_minor, payment.captured_minor, payment.refunded_minor) == (
        1500, 1500, 1500)
    assert payment.captures == 1 and payment.net_minor == 0
    assert (payment.user_id, payment.currency, payment.idempotency_key) == (
        "u1", "EUR", "o1:authorize")


def test_a_late_authorization_keeps_what_the_request_recorded() -> None:
    payment = state("late_voided")
    assert payment.status is Status.VOIDED
    assert (payment.user_id, payment.amount_minor, payment.card_token_kind) == ("u1", 1500,
                                                                                "timeout")
    assert payment.void_idempotency_key == "o1:void"


def test_a_void_before_anything_is_remembered() -> None:
    payment = state("void_requested")
    assert payment.status is Status.VOID_REQUESTED and payment.void_requested
    assert not payment.decided


@pytest.mark.parametrize("name", sorted(STATES))
def test_each_event_is_stored_under_a_name_that_gives_its_class_back(name: str) -> None:
    for event in STATES[name]:
        assert event_type(event_name(event)) is type(event)
        assert event_name(event) == type(event).__name__  # stored names never change


def test_a_stored_name_this_code_does_not_know_is_refused() -> None:
    with pytest.raises(UnknownEventType):
        event_type("Teleported")


@pytest.mark.parametrize(("name", "events", "outcome"), [
    ("new", [VoidRequested("o1:void2")], "nothing"),
    ("void_requested", [], "nothing"),
    ("pending", [VoidRequested("o1:void2")], "nothing"),
    ("pending_void_requested", [], "nothing"),
    ("authorized", [Voided()], "voided"),
    ("declined", [], "nothing"),
    ("captured", [Refunded(1500)], "refunded"),
    ("voided", [], "voided"),
    ("refunded", [], "refunded"),
    ("late_voided", [], "voided"),
    ("pending_capture", [VoidRequested("o1:void2")], "nothing"),
    ("pending_capture_void_requested", [], "nothing"),
    ("late_captured", [Refunded(1500)], "refunded"),
    ("late_captured_refunded", [], "refunded"),
])
def test_void_in_every_state(name: str, events: list[PaymentEvent], outcome: str) -> None:
    assert rules.void(state(name), "o1:void2") == (events, outcome)


@pytest.mark.parametrize(("name", "events"), [
    ("authorized", [Captured(1500)]),
    ("captured", []),  # captured once, answered again
    ("refunded", []),
])
def test_capture_takes_the_authorized_amount_once(name: str, events: list[PaymentEvent]) -> None:
    assert rules.capture(state(name), 1500) == events


@pytest.mark.parametrize("name", ["new", "void_requested", "pending", "declined", "voided",
                                  "late_voided"])
def test_capture_is_refused_without_a_live_authorization(name: str) -> None:
    with pytest.raises(CaptureRefused):
        rules.capture(state(name), 1500)


def test_capture_of_another_amount_is_refused() -> None:
    with pytest.raises(CaptureRefused, match="does not match"):
        rules.capture(state("authorized"), 1499)


def test_a_late_approval_lands_as_an_authorization() -> None:
    assert rules.land_authorization(state("pending"), Decision.approve()) == [
        Authorized(1500, "EUR")]


def test_a_late_approval_after_a_void_is_voided_at_once() -> None:
    events = rules.land_authorization(state("pending_void_requested"), Decision.approve())
    assert events == [Authorized(1500, "EUR"), Voided()]
    after = fold("o1", [*STATES["pending_void_requested"], *events])
    assert after.status is Status.VOIDED and after.net_minor == 0


def test_a_late_decline_lands_as_a_decline() -> None:
    assert rules.land_authorization(state("pending_void_requested"),
                                    Decision.decline("card-declined")) == [
        Declined("card-declined")]


@pytest.mark.parametrize("name", ["new", "authorized", "declined", "late_voided",
                                  "late_captured"])
def test_a_late_answer_to_a_settled_payment_adds_nothing(name: str) -> None:
    assert rules.land_authorization(state(name), Decision.approve()) == []


# --- capture on authorization -----------------------------------------------------------------

def test_a_request_remembers_whether_to_capture() -> None:
    assert state("pending_capture").capture_requested
    assert not state("pending").capture_requested


def test_an_approval_decided_inline_before_requests_were_recorded_still_folds() -> None:
    # streams written when the processor was asked inside the command's transaction
    payment = fold("o1", [Authorized(1500, "EUR", "u1", "o1:authorize"), Captured(1500)])
    assert payment.status is Status.CAPTURED and payment.captures == 1
    assert payment.net_minor == 1500 and payment.user_id == "u1"


def test_a_late_decline_asked_with_capture_charges_nothing() -> None:
    events = rules.land_authorization(state("pending_capture"), Decision.decline("card-declined"))
    assert events == [Declined("card-declined")]
    assert fold("o1", [*STATES["pending_capture"], *events]).net_minor == 0


def test_a_late_approval_asked_with_capture_is_captured_as_it_lands() -> None:
    events = rules.land_authorization(state("pending_capture"), Decision.approve())
    assert events == [Authorized(1500, "EUR"), Captured(1500)]
    after = fold("o1", [*STATES["pending_capture"], *events])
    assert after.status is Status.CAPTURED and after.net_minor == 1500


def test_a_late_approval_asked_with_capture_after_a_void_is_voided_never_captured() -> None:
    events = rules.land_authorization(state("pending_capture_void_requested"),
                                      Decision.approve())
    assert events == [Authorized(1500, "EUR"), Voided()]
    after = fold("o1", [*STATES["pending_capture_void_requested"], *events])
    assert after.status is Status.VOIDED and after.captures == 0 and after.net_minor == 0


def test_a_late_decline_asked_with_capture_lands_as_a_decline() -> None:
    assert rules.land_authorization(state("pending_capture"),
                                    Decision.decline("card-declined")) == [
        Declined("card-declined")]
