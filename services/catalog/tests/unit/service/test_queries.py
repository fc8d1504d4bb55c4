from __future__ import annotations

import pytest

from catalog.domain.errors import CategoryNotFound, ProductNotFound
from catalog.domain.products import CategorySummary, Product
from catalog.service import queries
from catalog.service.ports import ProductSortKey

from ...factories import T0, make_category, make_product
from .conftest import InMemoryCatalog

pytestmark = pytest.mark.unit


def catalog_of(*products: Product) -> InMemoryCatalog:
    slugs = sorted({p.category for p in products} | {"kitchen"})
    return InMemoryCatalog().add(*(make_category(s) for s in slugs), *products)


async def all_pages(uow: InMemoryCatalog, limit: int, **filters: str) -> list[list[Product]]:
    pages: list[list[Product]] = []
    after = None
    while True:
        page = await queries.list_products(uow, limit=limit, after=after, **filters)
        pages.append(page.items)
        if not page.more:
            return pages
        after = ProductSortKey.of(page.items[-1])


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 100])
async def test_paging_returns_every_listed_product_once_in_name_then_id_order(limit: int) -> None:
    twins = [make_product(f"KIT-{n:04d}", "Twin Kettle") for n in range(5)]  # same name: id decides
    others = [make_product(f"BOK-{n:04d}", name, category="books")
              for n, name in enumerate(["Zebra", "apple", "Apple", "Émile"])]
    uow = catalog_of(*twins, *others)
    items = [p for page in await all_pages(uow, limit) for p in page]
    assert items == sorted([*twins, *others], key=lambda p: (p.name, p.id))


async def test_a_listing_that_fills_its_last_page_exactly_has_no_empty_page_after_it() -> None:
    uow = catalog_of(*(make_product(f"KIT-{n:04d}", f"Knife {n}") for n in range(6)))
    assert [len(page) for page in await all_pages(uow, limit=3)] == [3, 3]


async def test_retired_products_are_not_listed_nor_counted() -> None:
    retired = make_product("KIT-0002", "Old Kettle", retired_at=T0)
    uow = catalog_of(make_product("KIT-0001"), retired)
    page = await queries.list_products(uow)
    assert [p.sku for p in page.items] == ["KIT-0001"]
    assert not page.more
    assert await queries.list_categories(uow) == [CategorySummary("kitchen", "Kitchen", 1)]


async def test_search_is_case_insensitive_over_name_and_description() -> None:
    uow = catalog_of(make_product("KIT-0001", "Crème Brûlée Torch"),
                     make_product("KIT-0002", "Kettle", description="For CRÈME and tea"),
                     make_product("KIT-0003", "Spoon"))
    page = await queries.list_products(uow, text="crÈme")
    assert [p.sku for p in page.items] == ["KIT-0001", "KIT-0002"]


async def test_category_filter_and_search_combine() -> None:
    uow = catalog_of(make_product("KIT-0001", "Tea Kettle"),
                     make_product("BOK-0001", "Tea Book", category="books"))
    page = await queries.list_products(uow, text="tea", category="books")
    assert [p.sku for p in page.items] == ["BOK-0001"]


async def test_an_unknown_category_is_not_found_but_an_empty_one_is_an_empty_page() -> None:
    uow = catalog_of(make_product()).add(make_category("garden"))
    assert (await queries.list_products(uow, category="garden")).items == []
    with pytest.raises(CategoryNotFound):
        await queries.list_products(uow, category="no-such-thing")


@pytest.mark.parametrize("slug", ["Kitchen", "kitchen ", "nul\x00", "x" * 65])
async def test_a_malformed_category_slug_is_not_found_without_a_query(slug: str) -> None:
    uow = catalog_of(make_product())
    with pytest.raises(CategoryNotFound):
        await queries.list_products(uow, category=slug)
    assert uow.transactions == 0


async def test_search_text_may_hold_any_printable_character() -> None:
    uow = catalog_of(make_product(name="Dark Chocolate 72% — «Bar» 🍫"))
    page = await queries.list_products(uow, text="72% — «bar» 🍫")
    assert len(page.items) == 1


async def test_a_position_past_the_end_of_a_known_category_is_an_empty_page() -> None:
    uow = catalog_of(make_product())
    page = await queries.list_products(uow, after=ProductSortKey("zzz", "z"), category="kitchen")
    assert page.items == [] and not page.more


@pytest.mark.parametrize("limit", [0, -1, 101])
async def test_a_page_size_out_of_range_is_a_programming_error(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        await queries.list_products(catalog_of(), limit=limit)


@pytest.mark.parametrize("text", ["", "x" * 101, "nul\x00", "new\nline", "trailing\n"])
async def test_search_text_out_of_range_is_a_programming_error(text: str) -> None:
    with pytest.raises(ValueError, match="search"):
        await queries.list_products(catalog_of(), text=text)


async def test_gets_a_product_by_id_in_either_case() -> None:
    product = make_product()
    uow = catalog_of(product)
    assert await queries.get_product(uow, product.id) == product
    assert await queries.get_product(uow, product.id.upper()) == product


@pytest.mark.parametrize("product_id", ["nope", "0190f3a2-7b1c-7d4e-8f00-123456789abc", ""])
async def test_an_unknown_or_malformed_id_is_not_found(product_id: str) -> None:
    with pytest.raises(ProductNotFound):
        await queries.get_product(catalog_of(make_product()), product_id)


async def test_a_malformed_id_does_not_reach_the_repository() -> None:
    uow = catalog_of()
    with pytest.raises(ProductNotFound):
        await queries.get_product(uow, "x" * 10_000)
    assert uow.transactions == 0


async def test_gets_a_product_by_exact_sku() -> None:
    product = make_product("KIT-0007")
    uow = catalog_of(product)
    assert await queries.get_product_by_sku(uow, "KIT-0007") == product
    for sku in ("kit-0007", "KIT-0008", "KIT-0007 ", ""):
        with pytest.raises(ProductNotFound):
            await queries.get_product_by_sku(uow, sku)


async def test_a_retired_product_is_not_found_by_id_or_sku() -> None:
    retired = make_product("KIT-0009", retired_at=T0)
    uow = catalog_of(retired)
    with pytest.raises(ProductNotFound):
        await queries.get_product(uow, retired.id)
    with pytest.raises(ProductNotFound):
        await queries.get_product_by_sku(uow, retired.sku)


async def test_lists_categories_by_name_with_their_listed_product_counts() -> None:
    uow = catalog_of(make_product("KIT-0001"), make_product("KIT-0002"),
                     make_product("BOK-0001", category="books")).add(make_category("garden"))
    assert await queries.list_categories(uow) == [
        CategorySummary("books", "Books", 1), CategorySummary("garden", "Garden", 0),
        CategorySummary("kitchen", "Kitchen", 2)]


async def test_looks_up_listed_products_by_sku_in_one_transaction() -> None:
    knife, kettle = make_product("KIT-0001"), make_product("KIT-0002", "Kettle")
    uow = catalog_of(knife, kettle, make_product("KIT-0003", "Old", retired_at=T0))
    found = await queries.listed_products(
        uow, ["KIT-0002", "KIT-0001", "KIT-0002", "KIT-0003", "NOPE-1", "bad sku"])
    assert found == {"KIT-0001": knife, "KIT-0002": kettle}
    assert uow.transactions == 1


async def test_a_lookup_of_nothing_sku_shaped_reads_nothing() -> None:
    uow = catalog_of(make_product())
    assert await queries.listed_products(uow, ["bad sku", ""]) == {}
    assert uow.transactions == 0


async def test_a_lookup_of_more_than_a_hundred_skus_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="100"):
        await queries.listed_products(catalog_of(), [f"A-{i}" for i in range(101)])
