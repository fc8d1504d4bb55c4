"""The catalog's public reads over real HTTP: the app, its migrations and demo seed, on SQLite and
PostgreSQL; pages of the one pagination convention (``next``), search, lookups, problems."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.adapters.sql import SqlCatalog
from chassis.db import SqlUnitOfWork
from chassis.testing import connected_database

from ...factories import T0, make_category, make_product
from ..conftest import DEMO_PRODUCT_COUNT, PROBLEM, Catalog

pytestmark = pytest.mark.integration


async def every_page(catalog: Catalog, **params: Any) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    for _ in range(DEMO_PRODUCT_COUNT + 1):  # bounded: one product a page at worst
        reply = await catalog.get("/v1/products", **params)
        assert reply.status == 200, reply.body
        pages.append(reply.body["items"])
        if reply.body["next"] is None:
            return pages
        params["cursor"] = reply.body["next"]
    raise AssertionError("the listing did not end")


async def test_serves_the_seeded_demo_catalog(catalog: Catalog) -> None:
    reply = await catalog.get("/v1/products", limit=100)
    assert (reply.status, reply.headers["content-type"]) == (200, "application/json")
    body = reply.body
    assert len(body["items"]) == DEMO_PRODUCT_COUNT >= 60
    assert body["next"] is None
    product = body["items"][0]
    assert set(product) == {"id", "sku", "name", "description", "price", "category",
                            "created_at", "updated_at"}
    assert product["price"]["currency"] == "EUR"
    assert isinstance(product["price"]["amount_minor"], int)


async def test_the_default_page_has_twenty_products(catalog: Catalog) -> None:
    body = (await catalog.get("/v1/products")).body
    assert len(body["items"]) == 20 and body["next"]


@pytest.mark.parametrize("limit", [1, 7, 20, 72])
async def test_paging_with_the_cursor_returns_every_product_exactly_once(
        catalog: Catalog, limit: int) -> None:
    pages = await every_page(catalog, limit=limit)
    ids = [p["id"] for page in pages for p in page]
    whole = (await catalog.get("/v1/products", limit=100)).body
    assert ids == [p["id"] for p in whole["items"]]  # same order as one big page
    assert len(set(ids)) == DEMO_PRODUCT_COUNT
    assert all(len(page) == limit for page in pages[:-1]) and 0 < len(pages[-1]) <= limit


async def test_search_is_case_insensitive_in_name_and_description(catalog: Catalog) -> None:
    body = (await catalog.get("/v1/products", q="CRÈME")).body
    assert sorted(p["sku"] for p in body["items"]) == ["COF-0007", "KIT-0008"]
    body = (await catalog.get("/v1/products", q="bergamot")).body  # only in descriptions
    assert sorted(p["sku"] for p in body["items"]) == ["COF-0001", "COF-0007"]


async def test_search_treats_like_wildcards_as_plain_text(catalog: Catalog) -> None:
    body = (await catalog.get("/v1/products", q="%")).body
    assert [p["sku"] for p in body["items"]] == ["PAN-0003"]  # "Dark Chocolate 72% Bar"
    assert (await catalog.get("/v1/products", q="_")).body["items"] == []


async def test_filters_by_category_and_pages_within_it(catalog: Catalog) -> None:
    pages = await every_page(catalog, category="books", limit=4)
    skus = [p["sku"] for page in pages for p in page]
    assert len(skus) == len(set(skus)) == 9
    assert all(sku.startswith("BOK-") for sku in skus)
    pages = await every_page(catalog, category="coffee-tea", q="tea", limit=2)
    assert {p["category"] for page in pages for p in page} == {"coffee-tea"}


async def test_lists_categories_with_product_counts(catalog: Catalog) -> None:
    reply = await catalog.get("/v1/categories")
    assert reply.status == 200
    items = reply.body["items"]
    assert len(items) >= 6
    assert sum(c["product_count"] for c in items) == DEMO_PRODUCT_COUNT
    assert {"slug": "kitchen", "name": "Kitchen", "product_count": 9} in items


async def test_gets_a_product_by_id_and_by_sku(catalog: Catalog) -> None:
    by_sku = (await catalog.get("/v1/products/by-sku/KIT-0007")).body
    assert by_sku["name"] == "Enamelled Dutch Oven 5 L"
    assert by_sku["price"] == {"amount_minor": 11900, "currency": "EUR"}
    by_id = await catalog.get(f"/v1/products/{by_sku['id']}")
    assert by_id.status == 200 and by_id.body == by_sku
    # ids are case-insensitive: each product has one URL up to case
    assert (await catalog.get(f"/v1/products/{by_sku['id'].upper()}")).body == by_sku


async def test_retired_products_vanish_and_empty_categories_list_nothing(
        catalog: Catalog, database_url: str) -> None:
    retired = make_product("KIT-9999", "Aaa Retired Kettle", retired_at=T0)
    async with connected_database(database_url) as db, \
            SqlUnitOfWork(db.transaction, SqlCatalog)() as repo:
        await repo.add_product_if_absent(retired)
        await repo.add_category_if_absent(make_category("garden"))
    body = (await catalog.get("/v1/products", limit=100)).body
    assert retired.id not in {p["id"] for p in body["items"]}
    assert (await catalog.get(f"/v1/products/{retired.id}")).status == 404
    assert (await catalog.get("/v1/products/by-sku/KIT-9999")).status == 404
    reply = await catalog.get("/v1/products", category="garden")
    assert (reply.status, reply.body) == (200, {"items": [], "next": None})


BAD_REQUESTS = [
    # (path, params, status, problem type slug)
    ("/v1/products", {"limit": "0"}, 400, "validation-error"),
    ("/v1/products", {"limit": "101"}, 400, "validation-error"),
    ("/v1/products", {"limit": "ten"}, 400, "validation-error"),
    ("/v1/products", {"cursor": ""}, 400, "invalid-cursor"),
    ("/v1/products", {"cursor": "not-a-cursor"}, 400, "invalid-cursor"),
    ("/v1/products", {"cursor": "é%00\n"}, 400, "invalid-cursor"),
    ("/v1/products", {"cursor": "A" * 5000}, 400, "validation-error"),  # past the length cap
    ("/v1/products", {"q": ""}, 400, "validation-error"),
    ("/v1/products", {"q": "x" * 101}, 400, "validation-error"),
    ("/v1/products", {"q": "nul\x00byte"}, 400, "validation-error"),
    ("/v1/products", {"q": "line\nbreak"}, 400, "validation-error"),
    ("/v1/products", {"q": "trailing line break\n"}, 400, "validation-error"),
    ("/v1/products", {"category": "no-such-category"}, 404, "catalog/category-not-found"),
    ("/v1/products", {"category": "Books"}, 404, "catalog/category-not-found"),
    ("/v1/products", {"category": "nul\x00"}, 404, "catalog/category-not-found"),
    ("/v1/products", {"category": "x" * 500}, 404, "catalog/category-not-found"),
    ("/v1/products", {"page": "2"}, 400, "validation-error"),  # an unknown parameter
    ("/v1/products/not-a-uuid", {}, 404, "catalog/product-not-found"),
    ("/v1/products/0190f3a2-7b1c-7d4e-8f00-123456789abc", {}, 404, "catalog/product-not-found"),
    ("/v1/products/by-sku/KIT-9999", {}, 404, "catalog/product-not-found"),
    ("/v1/products/by-sku/kit-0007", {}, 404, "catalog/product-not-found"),
    ("/v1/products/by-sku/" + "A" * 300, {}, 404, "catalog/product-not-found"),
    ("/v1/nothing-here", {}, 404, "not-found"),
]


@pytest.mark.parametrize(("path", "params", "status", "slug"), BAD_REQUESTS)
async def test_bad_input_gets_a_problem_document_never_a_500(
        catalog: Catalog, path: str, params: dict[str, str], status: int, slug: str) -> None:
    reply = await catalog.get(path, **params)
    assert (reply.status, reply.headers["content-type"]) == (status, PROBLEM), reply.body
    assert reply.body["type"] == f"https://souk.dev/problems/{slug}"
    assert reply.body["status"] == status


async def test_a_tampered_cursor_is_an_invalid_cursor_problem(catalog: Catalog) -> None:
    cursor = (await catalog.get("/v1/products", limit=5)).body["next"]
    middle = len(cursor) // 2
    tampered = cursor[:middle] + ("B" if cursor[middle] == "A" else "A") + cursor[middle + 1:]
    reply = await catalog.get("/v1/products", cursor=tampered)
    assert (reply.status, reply.headers["content-type"]) == (400, PROBLEM)
    assert reply.body["type"].endswith("/invalid-cursor")


async def test_serves_its_openapi_document(catalog: Catalog) -> None:
    reply = await catalog.get("/openapi.json")
    assert reply.status == 200
    spec = reply.body
    assert {"/v1/products", "/v1/products/{product_id}", "/v1/products/by-sku/{sku}",
            "/v1/categories", "/v1/internal/prices"} <= set(spec["paths"])
    responses = spec["paths"]["/v1/products"]["get"]["responses"]
    assert PROBLEM in responses["400"]["content"]
    assert "422" not in responses  # the chassis answers parameter errors with 400
    assert "next" in spec["components"]["schemas"]["Page_ProductOut_"]["properties"]


async def test_health_probes_report_the_database(catalog: Catalog) -> None:
    reply = await catalog.get("/health/ready")
    assert reply.status == 200 and reply.body["checks"] == {"database": "ok"}
