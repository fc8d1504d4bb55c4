"""Stock look-ups and restocks (HTTP), and the admin listings ``souk verify`` reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from inventory.domain.errors import InvalidQuantity, UnknownSku
from inventory.domain.reservations import Reservation
from inventory.domain.stock import MAX_RESTOCK, StockLevel, is_sku, require_sku
from inventory.service.ports import UnitOfWork

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "Page", "get_stock", "list_reservations",
           "list_stock", "restock"]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None  # the key to pass as ``after`` for the next page; None on the last page


def _check_limit(limit: int) -> None:
    # the HTTP layer validates first; this guards the other callers
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")


async def get_stock(uow: UnitOfWork, sku: str) -> StockLevel:
    if not is_sku(sku):
        raise UnknownSku("no stock for this SKU")
    async with uow.transaction(readonly=True) as store:
        level = await store.get_stock(sku)
    if level is None:
        raise UnknownSku("no stock for this SKU")
    return level


async def restock(uow: UnitOfWork, sku: str, quantity: int) -> StockLevel:
    """Add units to a SKU (creating its row when absent); they count in ``initial`` too."""
    require_sku(sku)
    if not 1 <= quantity <= MAX_RESTOCK:
        raise InvalidQuantity(f"a restock adds 1 to {MAX_RESTOCK} units")
    async with uow.transaction() as store:
        return await store.restock(sku, quantity)


async def list_stock(uow: UnitOfWork, after: str | None = None,
                     limit: int = DEFAULT_PAGE_SIZE) -> Page[StockLevel]:
    _check_limit(limit)
    async with uow.transaction(readonly=True) as store:
        found = await store.list_stock(after, limit + 1)  # one more says if a next page exists
    items = found[:limit]
    return Page(items, items[-1].sku if len(found) > limit else None)


async def list_reservations(uow: UnitOfWork, after: str | None = None,
                            limit: int = DEFAULT_PAGE_SIZE) -> Page[Reservation]:
    _check_limit(limit)
    async with uow.transaction(readonly=True) as store:
        found = await store.list_reservations(after, limit + 1)
    items = found[:limit]
    return Page(items, items[-1].order_id if len(found) > limit else None)
