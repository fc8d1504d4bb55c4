"""The fold of a payment's events and the pure decisions on the folded state."""

from __future__ import annotations

import pytest

from payments.domain import payment as rules
from payments.domain.errors import CaptureRefused
from payments.domain.events import (
    AuthorizationRequested,
    Authorized,
    Captured,
    Declined,
    PaymentEvent,
    Refunded,
    UnknownEventType,
    Voided,
    VoidRequested,
    from_record,
    to_record,
)
from payments.domain.payment import Decision, Status, fold

pytestmark = pytest.mark.unit

REQUESTED = AuthorizationRequested("u1", 1500, "EUR", "timeout", "o1:authorize")
AUTHORIZED = Authorized(1500, "EUR", "u1", "o1:authorize")

STATES: dict[str, list[PaymentEvent]] = {
    "new": [],
    "void_requested": [VoidRequested("o1:void")],
    "pending": [REQUESTED],
    "pending_void_requested": [REQUESTED, VoidRequested("o1:void")],
    "authorized": [AUTHORIZED],
    "declined": [Declined("card-declined", "u1", 1500, "EUR", "o1:authorize")],
    "captured": [AUTHORIZED, Captured(1500)],
    "voided": [AUTHORIZED, Voided()],
    "refunded": [AUTHORIZED, Captured(1500), Refunded(1500)],
    "late_voided": [REQUESTED, VoidRequested("o1:void"), Authorized(1500, "EUR"), Voided()],
}


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
def test_events_survive_their_stored_form(name: str) -> None:
    for event in STATES[name]:
        type_name, data = to_record(event)
        assert from_record(type_name, data) == event


def test_stored_fields_this_code_does_not_know_are_ignored() -> None:
    assert from_record("Captured", {"amount_minor": 5, "added_later": True}) == Captured(5)
    with pytest.raises(UnknownEventType):
        from_record("Teleported", {})


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


@pytest.mark.parametrize("name", ["new", "authorized", "declined", "late_voided"])
def test_a_late_answer_to_a_settled_payment_adds_nothing(name: str) -> None:
    assert rules.land_authorization(state(name), Decision.approve()) == []
