"""The catalog API's bodies, as msgspec Structs (their JSON Schemas are the OpenAPI document's)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from catalog.domain.money import Money
from catalog.domain.products import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SKU_LENGTH,
    MAX_SLUG_LENGTH,
    CategorySummary,
    Product,
)
from catalog.service.queries import MAX_PRICE_LOOKUP

__all__ = ["CategoryListOut", "CategoryOut", "MoneyIn", "MoneyOut", "PriceLookupIn",
           "PriceLookupOut", "ProductChangesIn", "ProductIn", "ProductOut"]

Name = Annotated[str, Meta(min_length=1, max_length=MAX_NAME_LENGTH)]
Description = Annotated[str, Meta(max_length=MAX_DESCRIPTION_LENGTH)]
CategorySlug = Annotated[str, Meta(min_length=1, max_length=MAX_SLUG_LENGTH,
                                   description="an existing category's slug")]


class MoneyOut(msgspec.Struct, frozen=True):
    amount_minor: Annotated[int, Meta(
        description="amount in minor units of the currency (cents for EUR)")]
    currency: Annotated[str, Meta(description="ISO-4217 code", examples=["EUR"])]

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(money.amount_minor, money.currency)


class ProductOut(msgspec.Struct, frozen=True):
    id: Annotated[str, Meta(description="time-ordered UUID")]
    sku: Annotated[str, Meta(examples=["KIT-0007"])]
    name: str
    description: str
    price: MoneyOut
    category: Annotated[str, Meta(description="the category's slug")]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        return cls(id=product.id, sku=product.sku, name=product.name,
                   description=product.description, price=MoneyOut.of(product.price),
                   category=product.category, created_at=product.created_at,
                   updated_at=product.updated_at)


# unknown fields are an error, not silently dropped: a typo must not look like success

class MoneyIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    amount_minor: Annotated[int, Meta(ge=0, le=10**12, description="minor units (cents for EUR)")]
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$", examples=["EUR"])]

    def to_money(self) -> Money:
        return Money(self.amount_minor, self.currency)


class ProductIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sku: Annotated[str, Meta(min_length=1, max_length=MAX_SKU_LENGTH, examples=["KIT-0100"])]
    name: Name
    price: MoneyIn
    category: CategorySlug
    description: Description = ""


class ProductChangesIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Only the fields given change; the SKU never does."""

    name: Name | None = None
    description: Description | None = None
    price: MoneyIn | None = None
    category: CategorySlug | None = None


class PriceLookupIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    skus: Annotated[list[str], Meta(min_length=1, max_length=MAX_PRICE_LOOKUP)]


class PriceLookupOut(msgspec.Struct, frozen=True):
    prices: Annotated[dict[str, MoneyOut], Meta(description="listed products only, by SKU")]
    missing: Annotated[list[str], Meta(description="asked for, but not a listed product")]
    names: Annotated[dict[str, str], Meta(
        description="the listed products' names, by SKU (what an order line shows)")]

    @classmethod
    def of(cls, asked: list[str], found: dict[str, Product]) -> PriceLookupOut:
        return cls(prices={sku: MoneyOut.of(p.price) for sku, p in found.items()},
                   missing=[s for s in dict.fromkeys(asked) if s not in found],
                   names={sku: p.name for sku, p in found.items()})


class CategoryOut(msgspec.Struct, frozen=True):
    slug: str
    name: str
    product_count: Annotated[int, Meta(description="products listed in this category")]

    @classmethod
    def of(cls, summary: CategorySummary) -> CategoryOut:
        return cls(summary.slug, summary.name, summary.product_count)


class CategoryListOut(msgspec.Struct, frozen=True):
    items: list[CategoryOut]
