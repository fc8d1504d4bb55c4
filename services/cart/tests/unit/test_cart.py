"""The cart's rules and how a cart is priced."""

from __future__ import annotations

import pytest

from cart.domain.cart import MAX_LINES, Cart, CartLine, check_quantity, check_sku
from cart.domain.errors import CartFull, InvalidQuantity, InvalidSku, ItemNotFound, MixedCurrencies
from cart.domain.pricing import Price, Quote, price_cart

pytestmark = pytest.mark.unit

EUR = "EUR"


@pytest.mark.parametrize("sku", ["KIT-0001", "A", "A" * 32, "9-X"])
def test_accepts_sku_shaped_strings(sku: str) -> None:
    assert check_sku(sku) == sku


@pytest.mark.parametrize("sku", ["", "kit-0001", "-A", "A" * 33, "A B", "A/B", "É"])
def test_refuses_anything_else_as_a_sku(sku: str) -> None:
    with pytest.raises(InvalidSku):
        check_sku(sku)


@pytest.mark.parametrize("quantity", [0, -1, 100, True])
def test_quantity_is_between_1_and_99(quantity: int) -> None:
    with pytest.raises(InvalidQuantity):
        check_quantity(quantity)
    assert check_quantity(1) == 1 and check_quantity(99) == 99


def full_cart() -> Cart:
    return Cart("u", tuple(CartLine(f"SKU-{i}", 1) for i in range(MAX_LINES)), 3)


def test_a_full_cart_refuses_a_new_line_but_changes_an_existing_one() -> None:
    cart = full_cart()
    with pytest.raises(CartFull):
        cart.check_can_set("SKU-NEW", 1)
    cart.check_can_set("SKU-0", 5)


def test_removing_an_absent_line_is_item_not_found() -> None:
    with pytest.raises(ItemNotFound):
        Cart("u").check_has("KIT-1")


def test_a_priced_cart_totals_its_lines_and_flags_stale_prices() -> None:
    cart = Cart("u", (CartLine("A", 2), CartLine("B", 3)), 7)
    priced = price_cart(cart, {"A": Quote(Price(250, EUR), stale=False),
                               "B": Quote(Price(100, EUR), stale=True)}, (), default_currency=EUR)
    assert [line.line_total_minor for line in priced.lines] == [500, 300]
    assert (priced.total_minor, priced.currency, priced.stale, priced.version) == (800, EUR, True, 7)


def test_lines_the_catalog_no_longer_sells_are_listed_apart() -> None:
    cart = Cart("u", (CartLine("A", 1), CartLine("GONE", 1)))
    priced = price_cart(cart, {"A": Quote(Price(5, EUR), False)}, {"GONE"}, default_currency=EUR)
    assert [line.sku for line in priced.lines] == ["A"]
    assert priced.unavailable == ("GONE",) and priced.total_minor == 5


def test_an_empty_cart_has_the_default_currency_and_no_total() -> None:
    priced = price_cart(Cart("u"), {}, (), default_currency="USD")
    assert (priced.lines, priced.total_minor, priced.currency, priced.stale) == ((), 0, "USD", False)


def test_mixed_currencies_have_no_total() -> None:
    cart = Cart("u", (CartLine("A", 1), CartLine("B", 1)))
    with pytest.raises(MixedCurrencies):
        price_cart(cart, {"A": Quote(Price(1, "EUR"), False), "B": Quote(Price(1, "USD"), False)},
                   (), default_currency=EUR)
