"""The catalog repository in plain SQL, portable between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from catalog.adapters.sql_values import like_pattern, search_text
from catalog.domain.money import Money
from catalog.domain.products import Category, CategorySummary, Product
from catalog.service.ports import CatalogRepository, ProductQuery
from chassis.db import Row, Transaction, one_of
from chassis.db.timestamps import from_db_timestamp, to_db_timestamp

__all__ = ["SqlCatalog"]

_SELECT_PRODUCTS = """
    SELECT id, sku, name, description, price_amount_minor, price_currency, category_slug,
           created_at, updated_at, retired_at
    FROM products"""
_PRODUCT_BY_ID = _SELECT_PRODUCTS + " WHERE id = :id"
_PRODUCT_BY_SKU = _SELECT_PRODUCTS + " WHERE sku = :sku"

_INSERT_CATEGORY = """
    INSERT INTO categories (slug, name) VALUES (:slug, :name)
    ON CONFLICT (slug) DO NOTHING
"""

_INSERT_PRODUCT = """
    INSERT INTO products (id, sku, name, description, search_text, price_amount_minor,
                          price_currency, category_slug, created_at, updated_at, retired_at)
    VALUES (:id, :sku, :name, :description, :search_text, :price_amount_minor,
            :price_currency, :category_slug, :created_at, :updated_at, :retired_at)
    ON CONFLICT (sku) DO NOTHING
"""

_UPDATE_PRODUCT = """
    UPDATE products SET name = :name, description = :description, search_text = :search_text,
           price_amount_minor = :price_amount_minor, price_currency = :price_currency,
           category_slug = :category_slug, updated_at = :updated_at, retired_at = :retired_at
    WHERE id = :id
"""

_LIST_CATEGORIES = """
    SELECT c.slug, c.name, COUNT(p.id) AS product_count
    FROM categories c
    LEFT JOIN products p ON p.category_slug = c.slug AND p.retired_at IS NULL
    GROUP BY c.slug, c.name
    ORDER BY c.name, c.slug
"""


def _product(row: Row) -> Product:
    return Product(
        id=row["id"], sku=row["sku"], name=row["name"], description=row["description"],
        price=Money(row["price_amount_minor"], row["price_currency"]),
        category=row["category_slug"], created_at=from_db_timestamp(row["created_at"]),
        updated_at=from_db_timestamp(row["updated_at"]),
        retired_at=None if row["retired_at"] is None else from_db_timestamp(row["retired_at"]))


class SqlCatalog(CatalogRepository):
    """The repository inside one chassis transaction."""

    __slots__ = ("_dialect", "_tx")

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx
        self._dialect = tx.dialect

    async def list_products(self, query: ProductQuery) -> list[Product]:
        conditions: list[str] = []
        params: dict[str, Any] = {"limit": query.limit}
        if not query.include_retired:
            conditions.append("retired_at IS NULL")
        if query.after is not None:
            # A row value, not "name > … OR (name = … AND id > …)": with it both SQLite (3.15+)
            # and PostgreSQL seek straight into the (name, id) index; with the OR, SQLite scans
            # two ranges and sorts, and PostgreSQL filters row by row.
            conditions.append("(name, id) > (:after_name, :after_id)")
            params |= {"after_name": query.after.name, "after_id": query.after.id}
        if query.category is not None:
            conditions.append("category_slug = :category")
            params["category"] = query.category
        if query.text is not None:
            conditions.append("search_text LIKE :pattern ESCAPE '\\'")
            params["pattern"] = like_pattern(query.text)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        # every fragment above is a constant; user input travels only as parameters
        sql = f"{_SELECT_PRODUCTS} {where} ORDER BY name, id LIMIT :limit"
        return [_product(row) for row in await self._tx.fetch_all(sql, params)]

    async def get_product(self, product_id: str) -> Product | None:
        row = await self._tx.fetch_one(_PRODUCT_BY_ID, {"id": product_id})
        return None if row is None else _product(row)

    async def get_product_by_sku(self, sku: str) -> Product | None:
        row = await self._tx.fetch_one(_PRODUCT_BY_SKU, {"sku": sku})
        return None if row is None else _product(row)

    async def products_by_sku(self, skus: list[str]) -> list[Product]:
        if not skus:
            return []
        where, params = one_of(self._tx.dialect, "sku", skus)
        return [_product(row) for row in
                await self._tx.fetch_all(f"{_SELECT_PRODUCTS} WHERE {where}", params)]

    async def get_category(self, slug: str) -> Category | None:
        row = await self._tx.fetch_one(
            "SELECT slug, name FROM categories WHERE slug = :slug", {"slug": slug})
        return None if row is None else Category(slug=row["slug"], name=row["name"])

    async def list_categories(self) -> list[CategorySummary]:
        return [CategorySummary(slug=row["slug"], name=row["name"],
                                product_count=int(row["product_count"]))
                for row in await self._tx.fetch_all(_LIST_CATEGORIES)]

    async def add_category_if_absent(self, category: Category) -> bool:
        inserted = await self._tx.execute(_INSERT_CATEGORY,
                                          {"slug": category.slug, "name": category.name})
        return inserted > 0

    async def add_product_if_absent(self, product: Product) -> bool:
        inserted = await self._tx.execute(_INSERT_PRODUCT, {
            "id": product.id, "sku": product.sku, "name": product.name,
            "description": product.description,
            "search_text": search_text(product.name, product.description),
            "price_amount_minor": product.price.amount_minor,
            "price_currency": product.price.currency, "category_slug": product.category,
            "created_at": to_db_timestamp(self._dialect, product.created_at),
            "updated_at": to_db_timestamp(self._dialect, product.updated_at),
            "retired_at": to_db_timestamp(self._dialect, product.retired_at)})
        return inserted > 0

    async def save_product(self, product: Product) -> None:
        await self._tx.execute(_UPDATE_PRODUCT, {
            "id": product.id, "name": product.name, "description": product.description,
            "search_text": search_text(product.name, product.description),
            "price_amount_minor": product.price.amount_minor,
            "price_currency": product.price.currency, "category_slug": product.category,
            "updated_at": to_db_timestamp(self._dialect, product.updated_at),
            "retired_at": to_db_timestamp(self._dialect, product.retired_at)})
