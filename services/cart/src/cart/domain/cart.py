"""A shopper's cart: lines of SKU and quantity, and the rules for changing them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cart.domain.errors import CartFull, DuplicateSku, InvalidQuantity, InvalidSku, ItemNotFound

__all__ = ["MAX_LINES", "MAX_QUANTITY", "MAX_SKU_LENGTH", "Cart", "CartLine", "OrderedLines",
           "check_quantity", "check_replacement", "check_sku"]

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
    """A SKU and how many. ``version``: the cart's version when the buyer last set the line (None
    when not known: set before lines recorded it, or not read); not part of what the line holds,
    so two lines are equal by SKU and quantity."""

    sku: str
    quantity: int
    version: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class OrderedLines:
    """What a confirmed order takes off a cart: whole lines (the SKUs of ``remove``), and
    quantities off lines whose last change is not known (``take``: SKU, quantity)."""

    remove: tuple[str, ...] = ()
    take: tuple[tuple[str, int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.remove or self.take)


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

    def ordered(self, quantities: Mapping[str, int], cart_version: int | None) -> OrderedLines:
        """What an order of ``quantities`` (by SKU) taken from version ``cart_version`` of this
        cart takes off it once confirmed: each line the buyer has not set since that version
        goes whole; a line set since stays as it is (refilled for a next order). When the
        version is not known (an older order, or a line set before lines recorded theirs),
        the ordered quantity is taken off the line instead, which goes when it held no more.
        SKUs the cart does not hold are left out."""
        remove: list[str] = []
        take: list[tuple[str, int]] = []
        for sku, quantity in quantities.items():
            line = self.line(sku)
            if line is None:
                continue
            if cart_version is None or line.version is None:
                take.append((sku, quantity))
            elif line.version <= cart_version:
                remove.append(sku)
        return OrderedLines(tuple(remove), tuple(take))

    def check_has(self, sku: str) -> None:
        if self.line(sku) is None:
            raise ItemNotFound(f"the cart has no {sku!r}")
