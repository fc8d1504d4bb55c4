"""The JSON shapes of the catalog API (pydantic), and their mapping from domain objects."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from catalog.domain.money import Money
from catalog.domain.products import CategorySummary, Product

__all__ = ["CategoryListOut", "CategoryOut", "MoneyIn", "MoneyOut", "PriceLookupIn",
           "PriceLookupOut", "ProductChangesIn", "ProductIn", "ProductOut",
           "ProductPageOut"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class MoneyOut(_Out):
    amount_minor: int = Field(description="amount in minor units of the currency (cents for EUR)")
    currency: str = Field(description="ISO-4217 code", examples=["EUR"])

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(amount_minor=money.amount_minor, currency=money.currency)


class ProductOut(_Out):
    id: str = Field(description="time-ordered UUID")
    sku: str = Field(examples=["KIT-0007"])
    name: str
    description: str
    price: MoneyOut
    category: str = Field(description="the category's slug")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        return cls(id=product.id, sku=product.sku, name=product.name,
                   description=product.description, price=MoneyOut.of(product.price),
                   category=product.category, created_at=product.created_at,
                   updated_at=product.updated_at)


class _In(BaseModel):
    # unknown fields are an error, not silently dropped: a typo must not look like success
    model_config = ConfigDict(frozen=True, extra="forbid")


class MoneyIn(_In):
    amount_minor: int = Field(ge=0, le=10**12, description="minor units (cents for EUR)")
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])

    def to_money(self) -> Money:
        return Money(self.amount_minor, self.currency)


class ProductIn(_In):
    sku: str = Field(min_length=1, max_length=32, examples=["KIT-0100"])
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    price: MoneyIn
    category: str = Field(min_length=1, max_length=64, description="an existing category's slug")


class ProductChangesIn(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    price: MoneyIn | None = None
    category: str | None = Field(default=None, min_length=1, max_length=64)


class PriceLookupIn(_In):
    skus: list[str] = Field(min_length=1, max_length=100)


class PriceLookupOut(_Out):
    prices: dict[str, MoneyOut] = Field(description="listed products only, by SKU")
    missing: list[str] = Field(description="asked for, but not a listed product")


class ProductPageOut(_Out):
    items: list[ProductOut]
    next_cursor: str | None = Field(
        description="pass as `cursor` to get the next page; null on the last page")


class CategoryOut(_Out):
    slug: str
    name: str
    product_count: int = Field(description="products listed in this category")

    @classmethod
    def of(cls, summary: CategorySummary) -> CategoryOut:
        return cls(slug=summary.slug, name=summary.name, product_count=summary.product_count)


class CategoryListOut(_Out):
    items: list[CategoryOut]


