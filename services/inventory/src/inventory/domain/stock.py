"""Stock per SKU. ``initial`` counts everything ever added (seed and restocks), so at all times
``initial = available + reserved + sold`` with every term at least zero; the database enforces the
same with CHECK constraints."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from inventory.domain.errors import InvalidQuantity, InvalidSku

__all__ = ["INSUFFICIENT_STOCK", "MAX_RESTOCK", "UNKNOWN_SKU", "Quantities", "Rejection",
           "StockLevel", "is_sku", "merge_lines", "require_sku", "shortfall"]

UNKNOWN_SKU = "unknown-sku"
INSUFFICIENT_STOCK = "insufficient-stock"
MAX_RESTOCK = 1_000_000

Quantities = dict[str, int]  # SKU -> units

_SKU = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")


def is_sku(text: str) -> bool:
    return _SKU.fullmatch(text) is not None


def require_sku(text: str) -> str:
    if not is_sku(text):
        raise InvalidSku(f"{text[:40]!r} is not a SKU")
    return text


@dataclass(frozen=True, slots=True)
class StockLevel:
    sku: str
    initial: int
    available: int
    reserved: int
    sold: int

    @property
    def is_consistent(self) -> bool:
        return (min(self.available, self.reserved, self.sold) >= 0
                and self.initial == self.available + self.reserved + self.sold)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an order's lines cannot be held, and which SKUs are to blame (sorted)."""

    reason: str
    skus: tuple[str, ...] = ()


def merge_lines(lines: Iterable[tuple[str, int]]) -> Quantities:
    """Units wanted per SKU; the same SKU on two lines is one demand for the sum."""
    wanted: Quantities = {}
    for sku, quantity in lines:
        if quantity < 1:
            raise InvalidQuantity(f"{sku}: a line needs at least one unit, not {quantity}")
        wanted[sku] = wanted.get(sku, 0) + quantity
    if not wanted:
        raise InvalidQuantity("a reservation needs at least one line")
    return wanted


def shortfall(wanted: Mapping[str, int], available: Mapping[str, int]) -> Rejection | None:
    """All or nothing: None when every SKU is known and has enough available units.

    Unknown SKUs are reported before short ones: restocking cannot fix a SKU that does not exist.
    """
    unknown = sorted(sku for sku in wanted if sku not in available)
    if unknown:
        return Rejection(UNKNOWN_SKU, tuple(unknown))
    short = sorted(sku for sku, quantity in wanted.items() if available[sku] < quantity)
    if short:
        return Rejection(INSUFFICIENT_STOCK, tuple(short))
    return None
