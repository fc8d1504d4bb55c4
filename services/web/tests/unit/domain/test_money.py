from __future__ import annotations

import pytest

from web.domain.money import money, when

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("minor", "currency", "shown"), [
    (1290, "EUR", "€12.90"), (5, "EUR", "€0.05"), (0, "USD", "$0.00"),
    (123456789, "GBP", "£1,234,567.89"), (-250, "EUR", "-€2.50"), (1999, "CHF", "CHF 19.99")])
def test_writes_an_amount_in_minor_units_with_its_currency(minor: int, currency: str,
                                                           shown: str) -> None:
    assert money(minor, currency) == shown


def test_writes_a_moment_as_a_utc_date() -> None:
    assert when(0) == "1970-01-01 00:00 UTC"
    assert when(1_765_000_000.9) == "2025-12-06 05:46 UTC"
