"""The cart's rules: SKUs, quantities 1 to 99, at most 50 lines, a whole-cart replacement."""

from __future__ import annotations

import pytest

from cart.domain.cart import (
    MAX_LINES,
    Cart,
    CartLine,
    OrderedLines,
    check_quantity,
    check_replacement,
    check_sku,
)
from cart.domain.errors import CartFull, DuplicateSku, InvalidQuantity, InvalidSku, ItemNotFound

pytestmark = pytest.mark.unit


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


def test_a_replacement_is_at_most_50_distinct_valid_lines() -> None:
    check_replacement([])
    check_replacement(full_cart().lines)
    with pytest.raises(CartFull):
        check_replacement([*full_cart().lines, CartLine("SKU-NEW", 1)])
    with pytest.raises(DuplicateSku):
        check_replacement([CartLine("A", 1), CartLine("A", 2)])
    with pytest.raises(InvalidSku):
        check_replacement([CartLine("a", 1)])
    with pytest.raises(InvalidQuantity):
        check_replacement([CartLine("A", 100)])


def test_a_confirmed_order_takes_the_lines_not_set_since_its_cart_version() -> None:
    cart = Cart("alice", (CartLine("A", 1, 2), CartLine("B", 1, 3), CartLine("C", 4, 5),
                          CartLine("D", 2)), 5)
    ordered = cart.ordered({"A": 1, "B": 1, "C": 4, "D": 1, "GONE": 1}, 3)
    # A and B unchanged since version 3 go whole; C was set since; D's last change is unknown
    assert ordered == OrderedLines(remove=("A", "B"), take=(("D", 1),))
    assert not cart.ordered({"C": 4, "GONE": 1}, 3)


def test_without_a_cart_version_an_order_takes_its_quantities() -> None:
    cart = Cart("alice", (CartLine("A", 3, 2), CartLine("B", 1)), 2)
    assert cart.ordered({"A": 1, "B": 1}, None) == OrderedLines(take=(("A", 1), ("B", 1)))


def test_lines_are_equal_by_what_they_hold_whatever_their_version() -> None:
    assert CartLine("A", 1, 7) == CartLine("A", 1) != CartLine("A", 2, 7)
