"""How the SQL ledger stores an event: its name and its fields as JSON (msgspec), read back
equal; fields a newer writer added are ignored."""

from __future__ import annotations

import pytest

from payments.adapters.sql import event_from_record, event_record
from payments.domain.events import AuthorizationRequested, Captured, UnknownEventType

from ..conftest import STATES

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", sorted(STATES))
def test_events_survive_their_stored_form(name: str) -> None:
    for event in STATES[name]:
        type_name, data = event_record(event)
        assert event_from_record(type_name, data) == event


def test_the_stored_form_is_the_events_fields() -> None:
    assert event_record(Captured(1500)) == ("Captured", '{"amount_minor":1500}')


def test_stored_fields_this_code_does_not_know_are_ignored() -> None:
    assert event_from_record("Captured", '{"amount_minor": 5, "added_later": true}') == \
        Captured(5)
    with pytest.raises(UnknownEventType):
        event_from_record("Teleported", "{}")


def test_a_request_stored_before_capture_existed_reads_back_without_capture() -> None:
    stored = ('{"user_id":"u1","amount_minor":1500,"currency":"EUR",'
              '"card_token_kind":"timeout","idempotency_key":"o1:authorize"}')
    assert event_from_record("AuthorizationRequested", stored) == AuthorizationRequested(
        "u1", 1500, "EUR", "timeout", "o1:authorize", capture=False)


def test_a_request_to_capture_is_stored_with_its_flag() -> None:
    event = AuthorizationRequested("u1", 1500, "EUR", "timeout", "o1:authorize", capture=True)
    type_name, data = event_record(event)
    assert '"capture":true' in data and event_from_record(type_name, data) == event
