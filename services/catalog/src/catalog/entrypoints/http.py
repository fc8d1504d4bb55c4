"""The catalog's HTTP API under ``/v1`` (the gateway serves it as ``/api/v1/catalog/…``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from catalog.adapters.sql import SqlUnitOfWork
from catalog.entrypoints.schemas import (
    CategoryListOut,
    CategoryOut,
    MoneyOut,
    PriceLookupIn,
    PriceLookupOut,
    ProductChangesIn,
    ProductIn,
    ProductOut,
    ProductPageOut,
)
from catalog.service import commands, queries
from catalog.service.ports import UnitOfWork
from chassis.auth import Principal, internal_caller, require_role
from chassis.deps import DatabaseDep
from chassis.openapi import problem_responses

__all__ = ["UnitOfWorkDep", "router"]


async def get_unit_of_work(db: DatabaseDep) -> UnitOfWork:
    return SqlUnitOfWork(db)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
Admin = Annotated[Principal, Depends(require_role("admin"))]

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


_WRITE_PROBLEMS = {401: "no valid bearer token", 403: "the token lacks the admin role",
                   422: "invalid product (validation-error, catalog/invalid-product, "
                        "catalog/unknown-category)"}


@router.post("/products", status_code=201, responses=problem_responses(
    {**_WRITE_PROBLEMS, 409: "the SKU is taken (catalog/sku-taken)"}))
async def create_product(body: ProductIn, uow: UnitOfWorkDep, _: Admin,
                         response: Response) -> ProductOut:
    """Add a product (admin only)."""
    product = await commands.create_product(uow, commands.NewProduct(
        sku=body.sku, name=body.name, description=body.description, price=body.price.to_money(),
        category=body.category), datetime.now(UTC))
    response.headers["Location"] = f"/v1/products/{product.id}"
    return ProductOut.of(product)


@router.patch("/products/{product_id}", responses=problem_responses(
    {**_WRITE_PROBLEMS, 404: "no listed product has this id"}))
async def revise_product(product_id: str, body: ProductChangesIn, uow: UnitOfWorkDep,
                         _: Admin) -> ProductOut:
    """Change a product's name, description, price or category (admin only)."""
    changes = commands.ProductChanges(
        name=body.name, description=body.description, category=body.category,
        price=None if body.price is None else body.price.to_money())
    return ProductOut.of(await commands.revise_product(uow, product_id, changes,
                                                       datetime.now(UTC)))


@router.delete("/products/{product_id}", status_code=204, responses=problem_responses(
    {**_WRITE_PROBLEMS, 404: "no listed product has this id"}))
async def retire_product(product_id: str, uow: UnitOfWorkDep, _: Admin) -> Response:
    """Stop selling a product (admin only); its SKU stays taken."""
    await commands.retire_product(uow, product_id, datetime.now(UTC))
    return Response(status_code=204)


async def _price_caller(request: Request) -> Principal:
    allowed = request.app.state.runtime.settings.price_callers
    return await internal_caller(allowed)(request)


@router.post("/internal/prices", responses=problem_responses(
    {401: "not a service token", 403: "this service may not look prices up"}))
async def look_up_prices(body: PriceLookupIn, uow: UnitOfWorkDep,
                         _: Annotated[Principal, Depends(_price_caller)]) -> PriceLookupOut:
    """Current prices by SKU, for other services (service identity required; not routed by the
    gateway)."""
    prices = await queries.price_list(uow, body.skus)
    return PriceLookupOut(prices={sku: MoneyOut.of(m) for sku, m in prices.items()},
                          missing=[s for s in dict.fromkeys(body.skus) if s not in prices])
