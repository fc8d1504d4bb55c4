"""The HTTP API over a real server: public availability, admin endpoints behind TestIssuer tokens,
and seeding from a catalog (a stand-in serving the catalog's page shape) gating readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from chassis.testing import TestIssuer, free_port, serve_app
from inventory.app import create_app

from .conftest import eventually, inventory_settings

pytestmark = pytest.mark.integration

ISSUER = TestIssuer()
ADMIN = ISSUER.mint(sub="admin-1", roles=("admin",))
CUSTOMER = ISSUER.mint(sub="customer-1", roles=("customer",))


async def _serve(app: Any) -> AsyncIterator[aiohttp.ClientSession]:
    app.state.runtime.verifier = ISSUER.verifier()
    async with serve_app(app) as base_url, aiohttp.ClientSession(base_url) as session:
        yield session


@pytest.fixture
async def http(database_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    async for session in _serve(create_app(inventory_settings(database_url))):
        yield session


async def call(http: aiohttp.ClientSession, method: str, path: str, token: str | None = None,
               body: Any = None) -> tuple[int, str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, path, json=body, headers=headers) as resp:
        return resp.status, resp.content_type, await resp.json(content_type=None)


async def test_admin_endpoints_need_the_admin_role(http: aiohttp.ClientSession) -> None:
    for method, path in (("GET", "/v1/admin/stock"), ("GET", "/v1/admin/reservations"),
                         ("POST", "/v1/admin/stock/A-1/restock")):
        body = {"quantity": 1} if method == "POST" else None
        assert (await call(http, method, path, None, body))[:2] == (401, "application/problem+json")
        assert (await call(http, method, path, CUSTOMER, body))[:2] == (
            403, "application/problem+json")
        assert (await call(http, method, path, ISSUER.service_token("orders"), body))[0] == 401


async def test_restock_creates_then_adds_and_the_public_view_shows_it(
        http: aiohttp.ClientSession) -> None:
    status, ctype, body = await call(http, "GET", "/v1/stock/KIT-0001")
    assert (status, ctype, body["type"].rsplit("/problems/", 1)[-1]) == (
        404, "application/problem+json", "inventory/unknown-sku")
    status, _, row = await call(http, "POST", "/v1/admin/stock/KIT-0001/restock", ADMIN,
                                {"quantity": 40})
    assert (status, row) == (200, {"sku": "KIT-0001", "initial": 40, "available": 40,
                                   "reserved": 0, "sold": 0})
    _, _, row = await call(http, "POST", "/v1/admin/stock/KIT-0001/restock", ADMIN,
                           {"quantity": 2})
    assert (row["initial"], row["available"]) == (42, 42)
    assert await call(http, "GET", "/v1/stock/KIT-0001") == (
        200, "application/json", {"sku": "KIT-0001", "available": 42})


@pytest.mark.parametrize(("path", "body", "status", "slug"), [
    ("/v1/admin/stock/A-1/restock", {"quantity": 0}, 422, "validation-error"),
    ("/v1/admin/stock/A-1/restock", {"quantity": 1_000_001}, 422, "validation-error"),
    ("/v1/admin/stock/A-1/restock", {"quantity": "ten"}, 422, "validation-error"),
    ("/v1/admin/stock/A-1/restock", {"quantity": 1, "extra": 1}, 422, "validation-error"),
    ("/v1/admin/stock/a%20b/restock", {"quantity": 1}, 422, "inventory/invalid-sku"),
])
async def test_bad_restocks_are_clear_4xx_problems(http: aiohttp.ClientSession, path: str,
                                                   body: Any, status: int, slug: str) -> None:
    got, ctype, problem = await call(http, "POST", path, ADMIN, body)
    assert (got, ctype) == (status, "application/problem+json")
    assert problem["type"].endswith(f"/{slug}")


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "after=" + "A" * 65])
async def test_bad_page_parameters_are_400(http: aiohttp.ClientSession, query: str) -> None:
    status, ctype, _ = await call(http, "GET", f"/v1/admin/stock?{query}", ADMIN)
    assert (status, ctype) == (400, "application/problem+json")


async def test_admin_stock_pages_by_sku(http: aiohttp.ClientSession) -> None:
    for sku in ("C-1", "A-1", "B-1"):
        await call(http, "POST", f"/v1/admin/stock/{sku}/restock", ADMIN, {"quantity": 1})
    _, _, first = await call(http, "GET", "/v1/admin/stock?limit=2", ADMIN)
    assert [i["sku"] for i in first["items"]] == ["A-1", "B-1"] and first["next"] == "B-1"
    _, _, rest = await call(http, "GET", "/v1/admin/stock?limit=2&after=B-1", ADMIN)
    assert [i["sku"] for i in rest["items"]] == ["C-1"] and rest["next"] is None
    assert await call(http, "GET", "/v1/admin/reservations", ADMIN) == (
        200, "application/json", {"items": [], "next": None})


async def fake_catalog(skus: list[str], page_size: int = 2) -> web.AppRunner:
    """Serves ``GET /v1/products`` in the catalog's shape, a few SKUs per page."""

    async def products(request: web.Request) -> web.Response:
        start = int(request.query.get("cursor", "0"))
        assert request.query["limit"] == "100"
        end = start + page_size
        return web.json_response({"items": [{"sku": s, "name": s} for s in skus[start:end]],
                                  "next_cursor": str(end) if end < len(skus) else None})

    app = web.Application()
    app.router.add_get("/v1/products", products)
    runner = web.AppRunner(app)
    await runner.setup()
    return runner


async def ready(http: aiohttp.ClientSession) -> tuple[int, dict[str, Any]]:
    async with http.get("/health/ready") as resp:
        return resp.status, await resp.json(content_type=None)


async def test_stock_is_seeded_from_every_catalog_page_once_catalog_answers(
        database_url: str) -> None:
    port = free_port()
    settings = inventory_settings(database_url, seed_from_catalog=True, seed_quantity=25,
                                  catalog_url=f"http://127.0.0.1:{port}")
    async for http in _serve(create_app(settings)):
        status, body = await ready(http)  # the catalog is not up yet
        assert status == 503 and body["checks"]["stock-seeded"].startswith("failing")
        runner = await fake_catalog(["KIT-0001", "KIT-0002", "BOK-0001", "BOK-0002", "TOY-1"])
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        try:
            async def is_ready() -> bool:
                return (await ready(http))[0] == 200

            await eventually(is_ready, timeout=20)
        finally:
            await runner.cleanup()
        _, _, page = await call(http, "GET", "/v1/admin/stock", ADMIN)
        assert [(i["sku"], i["available"]) for i in page["items"]] == [
            ("BOK-0001", 25), ("BOK-0002", 25), ("KIT-0001", 25), ("KIT-0002", 25), ("TOY-1", 25)]
