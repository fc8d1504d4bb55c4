"""A shopper's cart: lines of SKU and quantity, and the rules for changing them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cart.domain.errors import CartFull, DuplicateSku, InvalidQuantity, InvalidSku, ItemNotFound

__all__ = ["MAX_LINES", "MAX_QUANTITY", "MAX_SKU_LENGTH", "Cart", "CartLine", "check_quantity",
           "check_replacement", "check_sku"]

MAX_LINES = 50
MAX_QUANTITY = 99
MAX_SKU_LENGTH = 32
# the shape of contracts.base.SKU, so every line can travel in an order's messages
_SKU = re.compile(r"[A-Z0-9][A-Z0-9-]*")


def check_sku(sku: str) -> str:
    if not (0 < len(sku) <= MAX_SKU_LENGTH and _SKU.fullmatch(sku)):
        raise InvalidSku(f"{sku[:40]!r} is not a SKU (upper-case letters, digits and dashes, "
                         f"at most {MAX_SKU_LENGTH})")
    return sku


def check_quantity(quantity: int) -> int:
    if isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidQuantity(f"quantity must be between 1 and {MAX_QUANTITY}")
    return quantity


@dataclass(frozen=True, slots=True)
class CartLine:
    sku: str
    quantity: int


def check_replacement(lines: Sequence[CartLine]) -> None:
    """Raise unless ``lines`` may be a whole cart: each a valid SKU and quantity, each SKU once,
    at most ``MAX_LINES`` of them."""
    for line in lines:
        check_sku(line.sku)
        check_quantity(line.quantity)
    if len({line.sku for line in lines}) != len(lines):
        raise DuplicateSku("each SKU may appear once")
    if len(lines) > MAX_LINES:
        raise CartFull(f"a cart holds at most {MAX_LINES} different items")


@dataclass(frozen=True, slots=True)
class Cart:
    """The lines in the order they were first added; ``version`` counts every change."""

    user_id: str
    lines: tuple[CartLine, ...] = ()
    version: int = 0

    def line(self, sku: str) -> CartLine | None:
        return next((line for line in self.lines if line.sku == sku), None)

    def check_can_set(self, sku: str, quantity: int) -> None:
        """Raise unless ``sku`` may be set to ``quantity`` (a new line needs room)."""
        check_sku(sku)
        check_quantity(quantity)
        if self.line(sku) is None and len(self.lines) >= MAX_LINES:
            raise CartFull(f"a cart holds at most {MAX_LINES} different items")

    def check_has(self, sku: str) -> None:
        if self.line(sku) is None:
            raise ItemNotFound(f"the cart has no {sku!r}")
