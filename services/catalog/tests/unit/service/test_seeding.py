from __future__ import annotations

import pytest

from catalog.service.seeding import CatalogSeed, SeedReport, seed_catalog

from ...factories import make_category, make_product
from .conftest import InMemoryCatalog

pytestmark = pytest.mark.unit


def seed() -> CatalogSeed:
    return CatalogSeed(categories=[make_category("kitchen"), make_category("books")],
                       products=[make_product("KIT-0001"), make_product("BOK-0001", category="books")])


async def test_seeding_an_empty_catalog_adds_everything() -> None:
    uow = InMemoryCatalog()
    assert await seed_catalog(uow, seed()) == SeedReport(categories_added=2, products_added=2)
    assert sorted(p.sku for p in uow.products.values()) == ["BOK-0001", "KIT-0001"]


async def test_seeding_again_adds_nothing_and_keeps_existing_rows() -> None:
    uow = InMemoryCatalog()
    await seed_catalog(uow, seed())
    before = dict(uow.products)
    assert await seed_catalog(uow, seed()) == SeedReport(categories_added=0, products_added=0)
    assert uow.products == before


async def test_seeding_adds_only_what_is_missing() -> None:
    existing = make_product("KIT-0001", "Renamed by an admin")
    uow = InMemoryCatalog().add(make_category("kitchen"), existing)
    assert await seed_catalog(uow, seed()) == SeedReport(categories_added=1, products_added=1)
    assert uow.products[existing.id].name == "Renamed by an admin"


async def test_a_failing_seed_adds_nothing() -> None:
    broken = CatalogSeed(categories=[make_category("kitchen")],
                         products=[make_product("KIT-0001"), make_product("X-1", category="nowhere")])
    uow = InMemoryCatalog()
    with pytest.raises(LookupError):
        await seed_catalog(uow, broken)
    assert uow.products == {} and uow.categories == {}
