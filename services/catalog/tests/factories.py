"""Valid domain objects with overridable fields, shared by unit and integration tests."""

from __future__ import annotations

from datetime import UTC, datetime

from catalog.domain.money import Money
from catalog.domain.products import Category, Product
from chassis.ids import new_id

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def make_category(slug: str = "kitchen", name: str | None = None) -> Category:
    return Category(slug=slug, name=name or slug.replace("-", " ").title())


def make_product(sku: str = "KIT-0001", name: str = "Chef's Knife", *,
                 description: str = "A sharp knife.", amount_minor: int = 8900,
                 currency: str = "EUR", category: str = "kitchen",
                 retired_at: datetime | None = None, product_id: str | None = None) -> Product:
    return Product(id=product_id or new_id(), sku=sku, name=name, description=description,
                   price=Money(amount_minor, currency), category=category, created_at=T0,
                   updated_at=T0, retired_at=retired_at)
