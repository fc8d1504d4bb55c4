"""The catalog's product list read over real HTTP through the chassis service client, from a
stand-in serving the catalog's page shape (``{"items": [...], "next": cursor}``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from chassis.http import AiohttpTransport, ServiceClient, StaticDirectory
from chassis.testing import free_port
from inventory.adapters.catalog import CatalogSkus

pytestmark = pytest.mark.integration

SKUS = ["KIT-0001", "KIT-0002", "BOK-0001", "BOK-0002", "TOY-1"]


@pytest.fixture
async def catalog_url() -> AsyncIterator[str]:
    async def products(request: web.Request) -> web.Response:
        assert request.query["limit"] == "100"
        start = int(request.query.get("cursor", "0"))
        end = start + 2
        return web.json_response({"items": [{"sku": s, "name": s} for s in SKUS[start:end]],
                                  "next": str(end) if end < len(SKUS) else None})

    app = web.Application()
    app.router.add_get("/v1/products", products)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_every_page_of_the_catalog_is_read(catalog_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        client = ServiceClient(AiohttpTransport(session), StaticDirectory({"catalog": catalog_url}),
                               service="inventory")
        assert await CatalogSkus(client).all_skus() == SKUS
