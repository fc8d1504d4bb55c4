"""The SQL repository on real databases: what SQL gets subtly different between engines."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager

import pytest

from catalog.adapters.demo_catalog import demo_catalog
from catalog.adapters.sql import SqlCatalog
from catalog.domain.money import MAX_AMOUNT_MINOR
from catalog.domain.products import CategorySummary, Product
from catalog.service.ports import CatalogRepository, ProductQuery, ProductSortKey
from catalog.service.seeding import seed_catalog
from chassis.db import Database, SqlUnitOfWork, open_database

from ...factories import T0, make_category, make_product

pytestmark = pytest.mark.integration


def uow(db: Database) -> SqlUnitOfWork[CatalogRepository]:
    return SqlUnitOfWork(db.transaction, SqlCatalog)


def transaction(db: Database, readonly: bool = False) -> AbstractAsyncContextManager[
        CatalogRepository]:
    """One transaction of the repository under test."""
    return uow(db)(readonly=readonly)


async def add(db: Database, *products: Product) -> None:
    async with transaction(db) as repo:
        for slug in sorted({p.category for p in products} | {"kitchen"}):
            await repo.add_category_if_absent(make_category(slug))
        for product in products:
            assert await repo.add_product_if_absent(product)


async def listing(db: Database, *, limit: int = 100, after: ProductSortKey | None = None,
                  text: str | None = None, category: str | None = None,
                  include_retired: bool = False) -> list[Product]:
    query = ProductQuery(limit=limit, after=after, text=text, category=category,
                         include_retired=include_retired)
    async with transaction(db, readonly=True) as repo:
        return await repo.list_products(query)


async def test_a_product_reads_back_exactly_as_written(database: Database) -> None:
    product = make_product(description="Ünïcode, quotes ' \" and 100% _wild_ \\ chars",
                           amount_minor=MAX_AMOUNT_MINOR, retired_at=T0)
    await add(database, product)
    async with transaction(database, readonly=True) as repo:
        assert await repo.get_product(product.id) == product
        assert await repo.get_product_by_sku(product.sku) == product
        assert await repo.get_product("0190f3a2-7b1c-7d4e-8f00-123456789abc") is None


async def test_looks_products_up_by_many_skus_at_once(database: Database) -> None:
    products = [make_product(f"KIT-{n:04d}", f"Knife {n}") for n in range(5)]
    await add(database, *products, make_product("KIT-0100", retired_at=T0))
    async with transaction(database, readonly=True) as repo:
        found = await repo.products_by_sku(["KIT-0003", "KIT-0001", "KIT-0100", "NOPE-1"])
        assert await repo.products_by_sku([]) == []
    assert sorted(p.sku for p in found) == ["KIT-0001", "KIT-0003", "KIT-0100"]
    assert next(p for p in found if p.sku == "KIT-0003") == products[3]


async def test_adding_an_existing_sku_or_slug_changes_nothing(database: Database) -> None:
    original = make_product("KIT-0001", "Original")
    await add(database, original)
    async with transaction(database) as repo:
        assert not await repo.add_category_if_absent(make_category("kitchen", "Renamed"))
        assert not await repo.add_product_if_absent(make_product("KIT-0001", "Impostor"))
    assert [p.name for p in await listing(database)] == ["Original"]
    async with transaction(database, readonly=True) as repo:
        assert await repo.get_category("kitchen") == make_category("kitchen", "Kitchen")


async def test_keyset_pages_resume_after_the_cursor_even_among_equal_names(database: Database) -> None:
    products = [make_product(f"KIT-{n:04d}", "Twin") for n in range(4)]
    products += [make_product("KIT-0100", "Alpha"), make_product("KIT-0101", "Zulu")]
    await add(database, *products)
    expected = sorted(products, key=lambda p: (p.name, p.id))
    seen: list[Product] = []
    after = None
    while page := await listing(database, limit=2, after=after):
        seen += page
        after = ProductSortKey.of(page[-1])
    assert seen == expected


async def test_search_folds_case_beyond_ascii_and_treats_wildcards_literally(
        database: Database) -> None:
    await add(database, make_product("KIT-0001", "Crème Brûlée Torch"),
              make_product("KIT-0002", "Dark Chocolate 72%", description="bar_of_cocoa"),
              make_product("KIT-0003", "Straße Map"),
              make_product("KIT-0004", "Plain Spoon", description="back\\slash"))

    async def skus(text: str) -> list[str]:
        return [p.sku for p in await listing(database, text=text)]

    assert await skus("CRÈME BRÛLÉE") == ["KIT-0001"]
    assert await skus("strasse") == ["KIT-0003"]
    assert await skus("%") == ["KIT-0002"]
    assert await skus("_of_") == ["KIT-0002"]
    assert await skus("_") == ["KIT-0002"]
    assert await skus("\\") == ["KIT-0004"]
    assert await skus("e%t") == []


async def test_filters_by_category_and_hides_retired_products_unless_asked(
        database: Database) -> None:
    await add(database, make_product("KIT-0001"), make_product("KIT-0002", retired_at=T0),
              make_product("BOK-0001", category="books"))
    assert [p.sku for p in await listing(database, category="kitchen")] == ["KIT-0001"]
    everything = await listing(database, include_retired=True)
    assert sorted(p.sku for p in everything) == ["BOK-0001", "KIT-0001", "KIT-0002"]


async def test_category_counts_include_empty_categories_and_skip_retired_products(
        database: Database) -> None:
    await add(database, make_product("KIT-0001"), make_product("KIT-0002", retired_at=T0),
              make_product("BOK-0001", category="books"))
    async with transaction(database) as repo:
        await repo.add_category_if_absent(make_category("garden"))
        assert await repo.list_categories() == [
            CategorySummary("books", "Books", 1), CategorySummary("garden", "Garden", 0),
            CategorySummary("kitchen", "Kitchen", 1)]


async def test_a_failed_transaction_leaves_nothing_behind(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with transaction(database) as repo:
            await repo.add_category_if_absent(make_category("kitchen"))
            await repo.add_product_if_absent(make_product())
            raise RuntimeError("boom")
    async with transaction(database, readonly=True) as repo:
        assert await repo.list_categories() == []


async def test_concurrent_seeds_add_each_row_exactly_once(
        database: Database, database_url: str) -> None:
    seed = demo_catalog(T0)
    other = open_database(database_url)  # a second connection (pool), as another instance has
    await other.connect()
    try:
        reports = await asyncio.gather(seed_catalog(uow(database), seed),
                                       seed_catalog(uow(other), demo_catalog(T0)))
    finally:
        await other.close()
    assert sum(r.products_added for r in reports) == len(seed.products)
    assert sum(r.categories_added for r in reports) == len(seed.categories)
    skus = [p.sku for p in await listing(database)]
    assert len(skus) == len(set(skus)) == len(seed.products)
