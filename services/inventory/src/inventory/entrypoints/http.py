"""The inventory's HTTP API under ``/v1`` (the gateway serves it as ``/api/v1/inventory/…``):
public availability, and the admin restock and listings ``souk verify`` reads."""

from __future__ import annotations

from typing import Annotated

from chassis.pagination import CursorCodec, CursorParam, InvalidCursor, Page
from chassis.web import ADMIN, Query, Router
from inventory.domain.errors import InvalidQuantity, InvalidSku, UnknownSku
from inventory.entrypoints.schemas import AvailabilityOut, ReservationOut, RestockIn, StockOut
from inventory.service import stock
from inventory.service.context import InventoryContext

__all__ = ["router"]

router = Router(tags=["inventory"])

_STOCK_PAGES = CursorCodec("inventory.stock.v1")
_RESERVATION_PAGES = CursorCodec("inventory.reservations.v1")
Limit = Annotated[int, Query(ge=1, le=stock.MAX_PAGE_SIZE)]


def _after(codec: CursorCodec, cursor: str | None) -> str | None:
    return str(codec.decode(cursor, (str,))[0]) if cursor else None


@router.get("/v1/stock/{sku}", raises=(UnknownSku,))
async def get_stock(sku: str, inventory: InventoryContext) -> AvailabilityOut:
    """Units of a SKU that can be reserved right now."""
    level = await stock.get_stock(inventory.uow, sku)
    return AvailabilityOut(level.sku, level.available)


@router.get("/v1/admin/stock", auth=ADMIN, raises=(InvalidCursor,), tags=["operations"])
async def list_stock(inventory: InventoryContext, cursor: CursorParam = None,
                     limit: Limit = stock.DEFAULT_PAGE_SIZE) -> Page[StockOut]:
    """Every stock row with its counts, by SKU (for `souk verify`)."""
    found = await stock.list_stock(inventory.uow, _after(_STOCK_PAGES, cursor), limit)
    nxt = _STOCK_PAGES.encode([found.items[-1].sku]) if found.more else None
    return Page([StockOut.of(s) for s in found.items], nxt)


@router.post("/v1/admin/stock/{sku}/restock", auth=ADMIN, raises=(InvalidSku, InvalidQuantity),
             tags=["operations"])
async def restock(sku: str, body: RestockIn, inventory: InventoryContext) -> StockOut:
    """Add units to a SKU, creating its stock row when there is none."""
    return StockOut.of(await stock.restock(inventory.uow, sku, body.quantity))


@router.get("/v1/admin/reservations", auth=ADMIN, raises=(InvalidCursor,), tags=["operations"])
async def list_reservations(inventory: InventoryContext, cursor: CursorParam = None,
                            limit: Limit = stock.DEFAULT_PAGE_SIZE) -> Page[ReservationOut]:
    """Every reservation, by order id (for `souk verify`)."""
    found = await stock.list_reservations(inventory.uow, _after(_RESERVATION_PAGES, cursor),
                                          limit)
    nxt = _RESERVATION_PAGES.encode([found.items[-1].order_id]) if found.more else None
    return Page([ReservationOut.of(r) for r in found.items], nxt)
