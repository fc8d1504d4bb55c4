"""Read use cases: what shoppers (and other services, like cart) ask the catalog."""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.domain.errors import CategoryNotFound, ProductNotFound
from catalog.domain.products import (
    CategorySummary,
    Product,
    is_sku,
    is_slug,
    normalize_product_id,
)
from catalog.service.ports import CatalogUnitOfWork, ProductQuery, ProductSortKey

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
    "listed_products",
]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_SEARCH_LENGTH = 100
MAX_PRICE_LOOKUP = 100
# No control characters: nobody types them into a search box, and PostgreSQL cannot take a NUL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The same rule for the HTTP layer, as a lookahead because "$" means different things in the
# two places the pattern is read: before a final "\n" in Python (msgspec checks with re.search),
# only at the very end in OpenAPI's ECMA-262 dialect.
SEARCH_TEXT_PATTERN = r"^(?![\s\S]*[\x00-\x1f\x7f])"


@dataclass(frozen=True, slots=True)
class ProductPage:
    items: list[Product]
    more: bool  # another page follows the last item


async def list_products(uow: CatalogUnitOfWork, *, limit: int = DEFAULT_PAGE_SIZE,
                        after: ProductSortKey | None = None, text: str | None = None,
                        category: str | None = None) -> ProductPage:
    """One page of listed products ordered by name, after ``after``, optionally searched and/or
    in one category.

    Raises ``CategoryNotFound`` for an unknown or malformed category slug (a known category with
    no products gives an empty page).
    """
    # The HTTP layer validates these first; this guards the other callers.
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    if text is not None and not (1 <= len(text) <= MAX_SEARCH_LENGTH
                                 and _CONTROL.search(text) is None):
        raise ValueError(f"search text must be 1 to {MAX_SEARCH_LENGTH} printable characters")
    if category is not None and not is_slug(category):
        raise CategoryNotFound("no category has this slug")
    # One row more than asked says whether a next page exists, so the last page has no cursor.
    query = ProductQuery(limit=limit + 1, after=after, text=text, category=category)
    async with uow(readonly=True) as repo:
        found = await repo.list_products(query)
        # Only an empty page pays for telling "unknown category" from "nothing matched".
        if not found and category is not None and await repo.get_category(category) is None:
            raise CategoryNotFound("no category has this slug")
    return ProductPage(found[:limit], more=len(found) > limit)


async def get_product(uow: CatalogUnitOfWork, product_id: str) -> Product:
    """The listed product with this id. Anything that is not a UUID names no product: 404 too."""
    canonical = normalize_product_id(product_id)
    if canonical is None:
        raise ProductNotFound("no product has this id")
    async with uow(readonly=True) as repo:
        product = await repo.get_product(canonical)
    return _listed(product, "no product has this id")


async def get_product_by_sku(uow: CatalogUnitOfWork, sku: str) -> Product:
    """The listed product with this SKU (exact, case-sensitive match)."""
    if not is_sku(sku):
        raise ProductNotFound("no product has this SKU")
    async with uow(readonly=True) as repo:
        product = await repo.get_product_by_sku(sku)
    return _listed(product, "no product has this SKU")


def _listed(product: Product | None, not_found: str) -> Product:
    """``product`` when it exists and is listed; a retired one is not found either."""
    if product is None or not product.is_listed:
        raise ProductNotFound(not_found)
    return product


async def list_categories(uow: CatalogUnitOfWork) -> list[CategorySummary]:
    """Every category by name, with how many listed products it has."""
    async with uow(readonly=True) as repo:
        return await repo.list_categories()


async def listed_products(uow: CatalogUnitOfWork, skus: list[str]) -> dict[str, Product]:
    """The listed products among ``skus``, by SKU (for cart's prices and names); unknown,
    malformed or retired SKUs are simply absent from the answer."""
    if len(skus) > MAX_PRICE_LOOKUP:
        raise ValueError(f"at most {MAX_PRICE_LOOKUP} SKUs per lookup")
    wanted = list(dict.fromkeys(s for s in skus if is_sku(s)))
    if not wanted:
        return {}
    async with uow(readonly=True) as repo:
        found = await repo.products_by_sku(wanted)
    return {p.sku: p for p in found if p.is_listed}
