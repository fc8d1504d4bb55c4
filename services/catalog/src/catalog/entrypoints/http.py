"""The catalog's HTTP API under ``/v1`` (the gateway serves it as ``/api/v1/catalog/…``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from catalog.adapters.sql import SqlUnitOfWork
from catalog.entrypoints.schemas import (
    CategoryListOut,
    CategoryOut,
    ProductOut,
    ProductPageOut,
    problem_responses,
)
from catalog.service import queries
from catalog.service.ports import UnitOfWork
from chassis.deps import DatabaseDep

__all__ = ["UnitOfWorkDep", "router"]


async def get_unit_of_work(db: DatabaseDep) -> UnitOfWork:
    return SqlUnitOfWork(db)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.get("/products", responses=problem_responses({
    400: "invalid parameter (validation-error) or cursor (catalog/invalid-cursor)",
    404: "unknown category (catalog/category-not-found)"}))
async def list_products(
    uow: UnitOfWorkDep,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = queries.DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    q: Annotated[str | None, Query(
        min_length=1, max_length=queries.MAX_SEARCH_LENGTH, pattern=queries.SEARCH_TEXT_PATTERN,
        description="case-insensitive text to find in the name or the description")] = None,
    category: Annotated[str | None, Query(
        description="a category slug; an unknown one is a 404")] = None,
) -> ProductPageOut:
    """Listed products ordered by name, a page at a time."""
    page = await queries.list_products(uow, limit=limit, cursor=cursor, text=q, category=category)
    return ProductPageOut(items=[ProductOut.of(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/products/by-sku/{sku}",
            responses=problem_responses({404: "no listed product has this SKU"}))
async def get_product_by_sku(sku: str, uow: UnitOfWorkDep) -> ProductOut:
    return ProductOut.of(await queries.get_product_by_sku(uow, sku))


@router.get("/products/{product_id}", responses=problem_responses(
    {404: "no listed product has this id (also for an id that is not a UUID)"}))
async def get_product(product_id: str, uow: UnitOfWorkDep) -> ProductOut:
    return ProductOut.of(await queries.get_product(uow, product_id))


@router.get("/categories", responses=problem_responses())
async def list_categories(uow: UnitOfWorkDep) -> CategoryListOut:
    """Every category, with how many listed products it has."""
    return CategoryListOut(items=[CategoryOut.of(c) for c in await queries.list_categories(uow)])
