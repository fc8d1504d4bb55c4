from __future__ import annotations

from typing import Any

import pytest

from catalog.domain.errors import InvalidMoney, InvalidProduct
from catalog.domain.money import MAX_AMOUNT_MINOR, Money

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("amount", [0, 1, 1290, MAX_AMOUNT_MINOR])
def test_accepts_non_negative_integer_amounts(amount: int) -> None:
    assert Money(amount, "EUR").amount_minor == amount


@pytest.mark.parametrize("amount", [-1, MAX_AMOUNT_MINOR + 1, 12.5, 10.0, True, "100", None])
def test_rejects_amounts_that_are_negative_too_large_or_not_integers(amount: Any) -> None:
    with pytest.raises(InvalidMoney):
        Money(amount, "EUR")


@pytest.mark.parametrize("currency", ["eur", "EU", "EURO", "E1R", "EUR\n", "ÉUR", "", 978, None])
def test_rejects_currencies_that_are_not_iso_4217_codes(currency: Any) -> None:
    with pytest.raises(InvalidMoney):
        Money(100, currency)


def test_invalid_money_is_an_invalid_product_and_a_value_error() -> None:
    assert issubclass(InvalidMoney, InvalidProduct)
    assert issubclass(InvalidMoney, ValueError)


def test_money_is_an_immutable_value() -> None:
    assert Money(100, "EUR") == Money(100, "EUR")
    assert Money(100, "EUR") != Money(100, "USD")
    with pytest.raises(AttributeError):
        Money(100, "EUR").amount_minor = 5  # type: ignore[misc]
