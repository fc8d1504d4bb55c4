from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifications.domain.cursor import decode_cursor, encode_cursor
from notifications.domain.errors import InvalidCursor
from notifications.domain.messages import Kind, OrderOutcome, compose, format_money

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("minor", "currency", "text"), [
    (2490, "EUR", "24.90 EUR"), (5, "EUR", "0.05 EUR"), (0, "USD", "0.00 USD"),
    (1200, "JPY", "1200 JPY"), (1234, "KWD", "1.234 KWD")])
def test_formats_amounts_in_the_currencys_units(minor: int, currency: str, text: str) -> None:
    assert format_money(minor, currency) == text


def test_a_cancellation_says_why_and_that_nothing_was_charged() -> None:
    message = compose(OrderOutcome(Kind.ORDER_CANCELLED, "o-1", "u-1", 1, 900, "EUR",
                                   reason="out of stock"),
                      message_id="m-1", now=datetime(2025, 1, 1, tzinfo=UTC))
    assert message.subject == "Your order o-1 was cancelled"
    assert "1 item" in message.body and "out of stock" in message.body
    assert "not been charged" in message.body


def test_a_cursor_round_trips_and_refuses_any_edit() -> None:
    cursor = encode_cursor("0190f3a2-7b1c-7d4e-8f00-123456789abc")
    assert decode_cursor(cursor) == "0190f3a2-7b1c-7d4e-8f00-123456789abc"
    for bad in ("", "A" * 300, cursor[:-1], cursor[:5] + ("B" if cursor[5] == "A" else "A")
                + cursor[6:], "é%00"):
        with pytest.raises(InvalidCursor):
            decode_cursor(bad)
