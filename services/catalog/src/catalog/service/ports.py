"""What the use cases need from storage: ``catalog.adapters.sql`` implements it over the chassis
database; the unit tests implement it in memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from catalog.domain.products import Category, CategorySummary, Product
from chassis.db import UnitOfWork

__all__ = ["CatalogRepository", "CatalogUnitOfWork", "ProductQuery", "ProductSortKey"]


@dataclass(frozen=True, slots=True)
class ProductSortKey:
    """Where a product sits in the listing order (name, then id); a page resumes strictly
    after it."""

    name: str
    id: str

    @classmethod
    def of(cls, product: Product) -> ProductSortKey:
        return cls(name=product.name, id=product.id)


@dataclass(frozen=True, slots=True)
class ProductQuery:
    """A slice of the listing: products ordered by (name, id), strictly after ``after``."""

    limit: int
    after: ProductSortKey | None = None
    text: str | None = None  # case-insensitive substring of the name or the description
    category: str | None = None  # a category slug
    include_retired: bool = False


class CatalogRepository(Protocol):
    """Products and categories, seen from inside one transaction."""

    async def list_products(self, query: ProductQuery) -> list[Product]: ...

    async def get_product(self, product_id: str) -> Product | None:
        """The product with this id, retired or not."""
        ...

    async def get_product_by_sku(self, sku: str) -> Product | None:
        """The product with this SKU, retired or not."""
        ...

    async def products_by_sku(self, skus: list[str]) -> list[Product]:
        """The products with these SKUs, retired or not, in one query."""
        ...

    async def get_category(self, slug: str) -> Category | None: ...

    async def list_categories(self) -> list[CategorySummary]:
        """Every category with its count of listed products, ordered by name."""
        ...

    async def add_category_if_absent(self, category: Category) -> bool:
        """Insert unless the slug exists (even if another transaction is inserting it right now);
        True if this call inserted it."""
        ...

    async def add_product_if_absent(self, product: Product) -> bool:
        """Insert unless the SKU exists, with the same guarantee; True if this call inserted it."""
        ...

    async def save_product(self, product: Product) -> None:
        """Overwrite an existing product's mutable fields (everything but id, SKU, created_at)."""
        ...


CatalogUnitOfWork = UnitOfWork[CatalogRepository]
