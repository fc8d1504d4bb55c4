"""An in-memory catalog that keeps the repository contract, for use-case tests without I/O."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from catalog.domain.products import Category, CategorySummary, Product
from catalog.service.ports import CatalogRepository, ProductQuery


class InMemoryRepository:
    def __init__(self, store: InMemoryCatalog) -> None:
        self._store = store

    async def list_products(self, query: ProductQuery) -> list[Product]:
        def wanted(p: Product) -> bool:
            text = query.text.casefold() if query.text is not None else None
            return ((query.include_retired or p.is_listed)
                    and (query.category is None or p.category == query.category)
                    and (text is None or text in p.name.casefold()
                         or text in p.description.casefold())
                    and (query.after is None
                         or (p.name, p.id) > (query.after.name, query.after.id)))

        found = sorted(filter(wanted, self._store.products.values()), key=lambda p: (p.name, p.id))
        return found[:query.limit]

    async def get_product(self, product_id: str) -> Product | None:
        return self._store.products.get(product_id)

    async def get_product_by_sku(self, sku: str) -> Product | None:
        return next((p for p in self._store.products.values() if p.sku == sku), None)

    async def products_by_sku(self, skus: list[str]) -> list[Product]:
        return [p for p in self._store.products.values() if p.sku in skus]

    async def get_category(self, slug: str) -> Category | None:
        return self._store.categories.get(slug)

    async def list_categories(self) -> list[CategorySummary]:
        listed = [p for p in self._store.products.values() if p.is_listed]
        return [CategorySummary(c.slug, c.name, sum(p.category == c.slug for p in listed))
                for c in sorted(self._store.categories.values(), key=lambda c: (c.name, c.slug))]

    async def add_category_if_absent(self, category: Category) -> bool:
        if category.slug in self._store.categories:
            return False
        self._store.categories[category.slug] = category
        return True

    async def add_product_if_absent(self, product: Product) -> bool:
        if await self.get_product_by_sku(product.sku) is not None:
            return False
        if product.category not in self._store.categories:
            raise LookupError(f"no category {product.category!r}")  # the foreign key
        self._store.products[product.id] = product
        return True

    async def save_product(self, product: Product) -> None:
        if product.id not in self._store.products:
            raise LookupError(f"no product {product.id!r}")
        self._store.products[product.id] = product


class InMemoryCatalog:
    """The unit of work (``async with uow() as repo``): a transaction that raises leaves the
    store as it was; ``transactions`` counts them."""

    def __init__(self) -> None:
        self.categories: dict[str, Category] = {}
        self.products: dict[str, Product] = {}
        self.transactions = 0

    def add(self, *items: Category | Product) -> InMemoryCatalog:
        for item in items:
            if isinstance(item, Category):
                self.categories[item.slug] = item
            else:
                self.products[item.id] = item
        return self

    @asynccontextmanager
    async def __call__(self, *, readonly: bool = False) -> AsyncIterator[CatalogRepository]:
        self.transactions += 1
        saved = copy.copy(self.categories), copy.copy(self.products)
        try:
            yield InMemoryRepository(self)
        except BaseException:
            self.categories, self.products = saved
            raise
