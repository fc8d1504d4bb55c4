"""How a message is worded (domain/messages.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifications.domain.messages import Kind, OrderOutcome, compose, format_money

pytestmark = pytest.mark.unit

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("minor", "currency", "text"), [
    (2490, "EUR", "24.90 EUR"), (5, "EUR", "0.05 EUR"), (0, "USD", "0.00 USD"),
    (1200, "JPY", "1200 JPY"), (1234, "KWD", "1.234 KWD")])
def test_formats_amounts_in_the_currencys_units(minor: int, currency: str, text: str) -> None:
    assert format_money(minor, currency) == text


def test_a_cancellation_says_why_and_that_nothing_was_charged() -> None:
    message = compose(OrderOutcome(Kind.ORDER_CANCELLED, "o-1", "u-1", 1, 900, "EUR",
                                   reason="out of stock"), message_id="m-1", now=NOW)
    assert message.subject == "Your order o-1 was cancelled"
    assert "1 item" in message.body and "out of stock" in message.body
    assert "not been charged" in message.body


@pytest.mark.parametrize(("reason", "says"), [
    ("payment-declined", "was cancelled: your card was declined."),
    ("payment-timeout", "was cancelled: the payment timed out."),
    ("insufficient-stock", "was cancelled: an item was out of stock."),
    ("", "was cancelled. You")])
def test_the_sagas_reasons_are_said_in_words(reason: str, says: str) -> None:
    message = compose(OrderOutcome(Kind.ORDER_CANCELLED, "o-1", "u-1", 1, 900, "EUR",
                                   reason=reason), message_id="m-1", now=NOW)
    assert says in message.body and "-" not in message.body.split("cancelled")[1]


def test_a_confirmation_says_what_was_taken() -> None:
    message = compose(OrderOutcome(Kind.ORDER_CONFIRMED, "o-2", "u-1", 3, 2490, "EUR"),
                      message_id="m-2", now=NOW)
    assert (message.id, message.kind, message.created_at) == ("m-2", Kind.ORDER_CONFIRMED, NOW)
    assert message.subject == "Your order o-2 is confirmed"
    assert "3 items" in message.body and "24.90 EUR" in message.body
