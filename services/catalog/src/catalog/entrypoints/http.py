"""The catalog's HTTP API under ``/v1`` (the gateway serves it as ``/api/v1/catalog/…``): public
listing, search and lookups; admin-only writes; the internal price lookup for other services."""

from __future__ import annotations

from typing import Annotated

from catalog.domain.errors import (
    CategoryNotFound,
    InvalidProduct,
    ProductNotFound,
    SkuTaken,
    UnknownCategory,
)
from catalog.domain.products import Product
from catalog.entrypoints.schemas import (
    CategoryListOut,
    CategoryOut,
    PriceLookupIn,
    PriceLookupOut,
    ProductChangesIn,
    ProductIn,
    ProductOut,
)
from catalog.service import commands, queries
from catalog.service.context import CatalogContext
from catalog.service.ports import ProductSortKey
from chassis import clock
from chassis.pagination import CursorCodec, CursorParam, InvalidCursor, Page
from chassis.web import ADMIN, Priority, Query, Router, json_response, services_from_setting
from chassis.web.responses import Response

__all__ = ["decode_after", "encode_after", "router"]

router = Router(tags=["catalog"])

_PRODUCT_PAGES = CursorCodec("catalog.products.v1")


def encode_after(product: Product) -> str:
    """The cursor of the page that follows ``product``."""
    return _PRODUCT_PAGES.encode([product.name, product.id])


def decode_after(cursor: str) -> ProductSortKey:
    """Where the page of ``cursor`` starts; ``InvalidCursor`` if we did not issue it unchanged."""
    name, product_id = _PRODUCT_PAGES.decode(cursor, (str, str))
    return ProductSortKey(name=str(name), id=str(product_id))


@router.get("/v1/products", raises=(InvalidCursor, CategoryNotFound))
async def list_products(
    catalog: CatalogContext, cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = queries.DEFAULT_PAGE_SIZE,
    q: Annotated[str | None, Query(
        min_length=1, max_length=queries.MAX_SEARCH_LENGTH, pattern=queries.SEARCH_TEXT_PATTERN,
        description="case-insensitive text to find in the name or the description (no control "
                    "characters)")] = None,
    category: Annotated[str | None, Query(
        description="a category slug; an unknown one is a 404")] = None,
) -> Page[ProductOut]:
    """Listed products ordered by name, then id, a page at a time."""
    # an empty cursor is a broken one, not "from the start"
    after = decode_after(cursor) if cursor is not None else None
    page = await queries.list_products(catalog.uow, limit=limit, after=after, text=q,
                                       category=category)
    nxt = encode_after(page.items[-1]) if page.more else None
    return Page([ProductOut.of(p) for p in page.items], nxt)


@router.get("/v1/products/by-sku/{sku}", raises=(ProductNotFound,))
async def get_product_by_sku(sku: str, catalog: CatalogContext) -> ProductOut:
    """The listed product with this SKU (exact, case-sensitive)."""
    return ProductOut.of(await queries.get_product_by_sku(catalog.uow, sku))


@router.get("/v1/products/{product_id}", raises=(ProductNotFound,))
async def get_product(product_id: str, catalog: CatalogContext) -> ProductOut:
    """The listed product with this id (an id that is not a UUID names no product: 404)."""
    return ProductOut.of(await queries.get_product(catalog.uow, product_id))


@router.get("/v1/categories")
async def list_categories(catalog: CatalogContext) -> CategoryListOut:
    """Every category, with how many listed products it has."""
    return CategoryListOut([CategoryOut.of(c) for c in await queries.list_categories(catalog.uow)])


_WRITE_ERRORS = (InvalidProduct, UnknownCategory)


@router.post("/v1/admin/products", auth=ADMIN, raises=(*_WRITE_ERRORS, SkuTaken), tags=["admin"],
             responses={201: (ProductOut, "added; `Location` names it")},
             headers={"Location": "the product's address"})
async def create_product(body: ProductIn, catalog: CatalogContext) -> Response:
    """Add a product (admin only)."""
    product = await commands.create_product(catalog.uow, commands.NewProduct(
        sku=body.sku, name=body.name, description=body.description, price=body.price.to_money(),
        category=body.category), clock.now())
    return json_response(ProductOut.of(product), 201,
                         headers={"Location": f"/v1/products/{product.id}"})


@router.patch("/v1/admin/products/{product_id}", auth=ADMIN, raises=(*_WRITE_ERRORS, ProductNotFound),
              tags=["admin"])
async def revise_product(product_id: str, body: ProductChangesIn,
                         catalog: CatalogContext) -> ProductOut:
    """Change a product's name, description, price or category (admin only)."""
    changes = commands.ProductChanges(
        name=body.name, description=body.description, category=body.category,
        price=None if body.price is None else body.price.to_money())
    return ProductOut.of(await commands.revise_product(catalog.uow, product_id, changes,
                                                       clock.now()))


@router.delete("/v1/admin/products/{product_id}", status=204, auth=ADMIN, raises=(ProductNotFound,),
               tags=["admin"])
async def retire_product(product_id: str, catalog: CatalogContext) -> None:
    """Stop selling a product (admin only); its SKU stays taken."""
    await commands.retire_product(catalog.uow, product_id, clock.now())


@router.post("/v1/internal/prices", auth=services_from_setting("price_callers"),
             tags=["internal"], priority=Priority.INTERNAL)
async def look_up_prices(body: PriceLookupIn, catalog: CatalogContext) -> PriceLookupOut:
    """Current prices and names by SKU, for other services (a service token of one of the
    `price_callers`; not routed by the gateway). A read, though sent as POST: safe to retry."""
    return PriceLookupOut.of(body.skus, await queries.listed_products(catalog.uow, body.skus))
