"""Write use cases for catalog administrators: add, revise and retire products."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from catalog.domain.errors import ProductNotFound, SkuTaken, UnknownCategory
from catalog.domain.money import Money
from catalog.domain.products import Product, normalize_product_id
from catalog.service.ports import CatalogRepository, CatalogUnitOfWork
from chassis.ids import new_id

__all__ = ["NewProduct", "ProductChanges", "create_product", "retire_product", "revise_product"]


@dataclass(frozen=True, slots=True)
class NewProduct:
    sku: str
    name: str
    description: str
    price: Money
    category: str


@dataclass(frozen=True, slots=True)
class ProductChanges:
    """Fields to change; None leaves a field as it is. The SKU never changes."""

    name: str | None = None
    description: str | None = None
    price: Money | None = None
    category: str | None = None


async def _require_category(repo: CatalogRepository, slug: str) -> None:
    if await repo.get_category(slug) is None:
        raise UnknownCategory(f"no category {slug!r}")


async def create_product(uow: CatalogUnitOfWork, new: NewProduct, now: datetime) -> Product:
    """Add a product to an existing category; its SKU must never have been used."""
    product = Product(id=new_id(), sku=new.sku, name=new.name, description=new.description,
                      price=new.price, category=new.category, created_at=now, updated_at=now)
    async with uow() as repo:
        await _require_category(repo, product.category)
        if not await repo.add_product_if_absent(product):
            raise SkuTaken(f"SKU {product.sku!r} is taken")
    return product


async def _existing(repo: CatalogRepository, product_id: str) -> Product:
    canonical = normalize_product_id(product_id)
    product = None if canonical is None else await repo.get_product(canonical)
    if product is None or not product.is_listed:
        raise ProductNotFound(f"no listed product has id {product_id!r}")
    return product


async def revise_product(uow: CatalogUnitOfWork, product_id: str, changes: ProductChanges,
                         now: datetime) -> Product:
    """Change what ``changes`` names of a listed product; the rest stays as it is."""
    async with uow() as repo:
        product = await _existing(repo, product_id)
        revised = replace(
            product, updated_at=max(now, product.updated_at),
            name=product.name if changes.name is None else changes.name,
            description=product.description if changes.description is None else changes.description,
            price=product.price if changes.price is None else changes.price,
            category=product.category if changes.category is None else changes.category)
        if revised.category != product.category:
            await _require_category(repo, revised.category)
        await repo.save_product(revised)
    return revised


async def retire_product(uow: CatalogUnitOfWork, product_id: str, now: datetime) -> None:
    """Stop selling a product; its row (and SKU) stay. Retiring twice is a 404 the second time."""
    async with uow() as repo:
        product = await _existing(repo, product_id)
        await repo.save_product(replace(product, retired_at=now,
                                        updated_at=max(now, product.updated_at)))
