"""The inventory's HTTP API under ``/v1`` (the gateway serves it as ``/api/v1/inventory/…``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from chassis.auth import Principal, require_role
from chassis.deps import DatabaseDep
from chassis.openapi import problem_responses
from inventory.adapters.sql import SqlUnitOfWork
from inventory.entrypoints.schemas import (
    AvailabilityOut,
    ReservationOut,
    ReservationPageOut,
    RestockIn,
    StockOut,
    StockPageOut,
)
from inventory.service import stock
from inventory.service.ports import UnitOfWork

__all__ = ["UnitOfWorkDep", "router"]


async def get_unit_of_work(db: DatabaseDep) -> UnitOfWork:
    return SqlUnitOfWork(db)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
Admin = Annotated[Principal, Depends(require_role("admin"))]
After = Annotated[str | None, Query(max_length=64, description="`next` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=stock.MAX_PAGE_SIZE)]

router = APIRouter(prefix="/v1", tags=["inventory"])

_ADMIN_PROBLEMS = {401: "no valid bearer token", 403: "the token lacks the admin role"}


@router.get("/stock/{sku}", responses=problem_responses(
    {404: "no stock for this SKU (inventory/unknown-sku)"}))
async def get_stock(sku: str, uow: UnitOfWorkDep) -> AvailabilityOut:
    """Units of a SKU that can be reserved right now."""
    level = await stock.get_stock(uow, sku)
    return AvailabilityOut(sku=level.sku, available=level.available)


@router.get("/admin/stock", responses=problem_responses(_ADMIN_PROBLEMS))
async def list_stock(uow: UnitOfWorkDep, _: Admin, after: After = None,
                     limit: Limit = stock.DEFAULT_PAGE_SIZE) -> StockPageOut:
    """Every stock row with its counts, by SKU (admin only)."""
    page = await stock.list_stock(uow, after, limit)
    return StockPageOut(items=[StockOut.of(s) for s in page.items], next=page.next)


@router.post("/admin/stock/{sku}/restock", responses=problem_responses(
    {**_ADMIN_PROBLEMS, 422: "bad quantity (validation-error) or SKU (inventory/invalid-sku)"}))
async def restock(sku: str, body: RestockIn, uow: UnitOfWorkDep, _: Admin) -> StockOut:
    """Add units to a SKU, creating its stock row when there is none (admin only)."""
    return StockOut.of(await stock.restock(uow, sku, body.quantity))


@router.get("/admin/reservations", responses=problem_responses(_ADMIN_PROBLEMS))
async def list_reservations(uow: UnitOfWorkDep, _: Admin, after: After = None,
                            limit: Limit = stock.DEFAULT_PAGE_SIZE) -> ReservationPageOut:
    """Every reservation, by order id (admin only)."""
    page = await stock.list_reservations(uow, after, limit)
    return ReservationPageOut(items=[ReservationOut.of(r) for r in page.items], next=page.next)
