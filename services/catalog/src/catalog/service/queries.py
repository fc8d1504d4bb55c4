"""Read use cases: what shoppers (and other services, like cart) ask the catalog."""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.domain.cursor import ProductSortKey, decode_cursor, encode_cursor
from catalog.domain.errors import CategoryNotFound, ProductNotFound
from catalog.domain.money import Money
from catalog.domain.products import (
    CategorySummary,
    Product,
    is_sku,
    is_slug,
    normalize_product_id,
)
from catalog.service.ports import ProductQuery, UnitOfWork

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "MAX_PRICE_LOOKUP",
    "MAX_SEARCH_LENGTH",
    "SEARCH_TEXT_PATTERN",
    "ProductPage",
    "get_product",
    "get_product_by_sku",
    "list_categories",
    "list_products",
    "price_list",
]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_SEARCH_LENGTH = 100
# No control characters: nobody types them into a search box, and PostgreSQL cannot take a NUL.
_PRINTABLE = r"[^\x00-\x1f\x7f]*"
# For the HTTP layer's validation; in pydantic's regex engine "$" is the very end of the text.
SEARCH_TEXT_PATTERN = f"^{_PRINTABLE}$"


@dataclass(frozen=True, slots=True)
class ProductPage:
    items: list[Product]
    next_cursor: str | None  # None on the last page


async def list_products(uow: UnitOfWork, *, limit: int = DEFAULT_PAGE_SIZE,
                        cursor: str | None = None, text: str | None = None,
                        category: str | None = None) -> ProductPage:
    """One page of listed products ordered by name, optionally searched and/or in one category.

    Raises ``InvalidCursor`` for a cursor we did not issue, and ``CategoryNotFound`` for an unknown
    or malformed category slug (a known category with no products gives an empty page).
    """
    # The HTTP layer validates these first; this guards the other callers.
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    if text is not None and not (1 <= len(text) <= MAX_SEARCH_LENGTH
                                 and re.fullmatch(_PRINTABLE, text)):
        raise ValueError(f"search text must be 1 to {MAX_SEARCH_LENGTH} printable characters")
    after = decode_cursor(cursor) if cursor is not None else None
    if category is not None and not is_slug(category):
        raise CategoryNotFound("no category has this slug")
    # One row more than asked says whether a next page exists, so the last page has no cursor.
    query = ProductQuery(limit=limit + 1, after=after, text=text, category=category)
    async with uow.transaction(readonly=True) as repo:
        found = await repo.list_products(query)
        # Only an empty page pays for telling "unknown category" from "nothing matched".
        if not found and category is not None and await repo.get_category(category) is None:
            raise CategoryNotFound("no category has this slug")
    items = found[:limit]
    has_more = len(found) > limit
    return ProductPage(items, encode_cursor(ProductSortKey.of(items[-1])) if has_more else None)


async def get_product(uow: UnitOfWork, product_id: str) -> Product:
    """The listed product with this id. Anything that is not a UUID names no product: 404 too."""
    canonical = normalize_product_id(product_id)
    if canonical is None:
        raise ProductNotFound("no product has this id")
    async with uow.transaction(readonly=True) as repo:
        product = await repo.get_product(canonical)
    if product is None or not product.is_listed:
        raise ProductNotFound("no product has this id")
    return product


async def get_product_by_sku(uow: UnitOfWork, sku: str) -> Product:
    """The listed product with this SKU (exact, case-sensitive match)."""
    if not is_sku(sku):
        raise ProductNotFound("no product has this SKU")
    async with uow.transaction(readonly=True) as repo:
        product = await repo.get_product_by_sku(sku)
    if product is None or not product.is_listed:
        raise ProductNotFound("no product has this SKU")
    return product


async def list_categories(uow: UnitOfWork) -> list[CategorySummary]:
    async with uow.transaction(readonly=True) as repo:
        return await repo.list_categories()


MAX_PRICE_LOOKUP = 100


async def price_list(uow: UnitOfWork, skus: list[str]) -> dict[str, Money]:
    """Current prices of the listed products among ``skus`` (for cart and orders); unknown,
    malformed or retired SKUs are simply absent from the answer."""
    if len(skus) > MAX_PRICE_LOOKUP:
        raise ValueError(f"at most {MAX_PRICE_LOOKUP} SKUs per lookup")
    prices: dict[str, Money] = {}
    async with uow.transaction(readonly=True) as repo:
        for sku in dict.fromkeys(s for s in skus if is_sku(s)):
            product = await repo.get_product_by_sku(sku)
            if product is not None and product.is_listed:
                prices[sku] = product.price
    return prices
