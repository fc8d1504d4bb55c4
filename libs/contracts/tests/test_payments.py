"""Additive changes to the payments contracts: old and new senders and receivers understand
each other."""

from __future__ import annotations

import msgspec
import pytest

from contracts import decode, encode
from contracts.payments import AuthorizePayment

pytestmark = pytest.mark.unit

OLD_AUTHORIZE = (b'{"order_id":"o1","idempotency_key":"o1:authorize","user_id":"u1",'
                 b'"amount_minor":2500,"currency":"EUR","card_token":"tok_visa"}')


def test_an_authorization_from_an_older_sender_does_not_ask_for_capture() -> None:
    command = decode(OLD_AUTHORIZE, AuthorizePayment)
    assert command.capture is False and command.amount_minor == 2500


def test_capture_on_authorization_travels_and_comes_back() -> None:
    command = AuthorizePayment(order_id="o1", idempotency_key="o1:authorize", user_id="u1",
                               amount_minor=2500, currency="EUR", card_token="tok_visa",
                               capture=True)
    assert msgspec.json.decode(encode(command))["capture"] is True
    assert decode(encode(command), AuthorizePayment) == command


class OlderAuthorizePayment(msgspec.Struct, frozen=True, kw_only=True):
    """AuthorizePayment as a receiver that predates ``capture`` decodes it."""

    order_id: str
    idempotency_key: str
    user_id: str
    amount_minor: int
    currency: str
    card_token: str


def test_an_older_receiver_ignores_the_capture_flag() -> None:
    command = AuthorizePayment(order_id="o1", idempotency_key="o1:authorize", user_id="u1",
                               amount_minor=2500, currency="EUR", card_token="tok_visa",
                               capture=True)
    old = msgspec.json.decode(encode(command), type=OlderAuthorizePayment)
    assert (old.order_id, old.amount_minor) == ("o1", 2500)
