"""Stock look-ups and restocks (HTTP), and the admin listings ``souk verify`` reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from inventory.domain.errors import InvalidQuantity, UnknownSku
from inventory.domain.reservations import Reservation
from inventory.domain.stock import MAX_RESTOCK, StockLevel, is_sku, require_sku
from inventory.service.ports import InventoryUnitOfWork

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "Listing", "get_stock", "list_reservations",
           "list_stock", "restock"]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """One page of a listing by key; ``more`` says whether another page follows."""

    items: list[T]
    more: bool


def _check_limit(limit: int) -> None:
    # the HTTP layer validates first; this guards the other callers
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")


async def get_stock(uow: InventoryUnitOfWork, sku: str) -> StockLevel:
    """The stock of one SKU; ``UnknownSku`` for a SKU without a row (or not SKU-shaped)."""
    if not is_sku(sku):
        raise UnknownSku("no stock for this SKU")
    async with uow(readonly=True) as store:
        level = await store.get_stock(sku)
    if level is None:
        raise UnknownSku("no stock for this SKU")
    return level


async def restock(uow: InventoryUnitOfWork, sku: str, quantity: int) -> StockLevel:
    """Add units to a SKU (creating its row when absent); they count in ``initial`` too."""
    require_sku(sku)
    if not 1 <= quantity <= MAX_RESTOCK:
        raise InvalidQuantity(f"a restock adds 1 to {MAX_RESTOCK} units")
    async with uow() as store:
        return await store.restock(sku, quantity)


async def list_stock(uow: InventoryUnitOfWork, after: str | None = None,
                     limit: int = DEFAULT_PAGE_SIZE) -> Listing[StockLevel]:
    """Stock rows by SKU, strictly after the SKU ``after``."""
    _check_limit(limit)
    async with uow(readonly=True) as store:
        found = await store.list_stock(after, limit + 1)  # one more says if a next page exists
    return Listing(found[:limit], len(found) > limit)


async def list_reservations(uow: InventoryUnitOfWork, after: str | None = None,
                            limit: int = DEFAULT_PAGE_SIZE) -> Listing[Reservation]:
    """Reservations by order id, strictly after the order id ``after``."""
    _check_limit(limit)
    async with uow(readonly=True) as store:
        found = await store.list_reservations(after, limit + 1)
    return Listing(found[:limit], len(found) > limit)
