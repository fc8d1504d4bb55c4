"""Loading a fixed set of categories and products (the demo catalog) into the catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from catalog.domain.products import Category, Product
from catalog.service.ports import CatalogUnitOfWork

__all__ = ["CatalogSeed", "SeedReport", "seed_catalog"]


@dataclass(frozen=True, slots=True)
class CatalogSeed:
    categories: Sequence[Category]
    products: Sequence[Product]


@dataclass(frozen=True, slots=True)
class SeedReport:
    categories_added: int
    products_added: int


async def seed_catalog(uow: CatalogUnitOfWork, seed: CatalogSeed) -> SeedReport:
    """Insert whatever of ``seed`` is missing, by category slug and product SKU, in one transaction.

    Existing rows are left as they are, so restarts, and several instances starting at once on the
    same database, are safe and add nothing twice.
    """
    async with uow() as repo:
        categories_added = [await repo.add_category_if_absent(c) for c in seed.categories]
        products_added = [await repo.add_product_if_absent(p) for p in seed.products]
    return SeedReport(sum(categories_added), sum(products_added))
