"""Against the real catalog (``python -m catalog`` in a subprocess, demo data, its own SQLite
file): prices come from its internal lookup with the cart's service token; when it dies the cart
keeps answering with the cached prices, flagged stale."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chassis.testing import free_port, serve_app

from .conftest import ISSUER, StartCart

pytestmark = pytest.mark.integration


@pytest.fixture
async def jwks_url() -> AsyncIterator[str]:
    async def jwks(request: Request) -> Response:
        return JSONResponse(ISSUER.jwks())

    async with serve_app(Starlette(routes=[Route("/jwks", jwks)])) as url:
        yield url + "/jwks"


@pytest.fixture
def real_catalog(tmp_path: Path, jwks_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {**os.environ, "CATALOG_PORT": str(port),
           "CATALOG_DATABASE_URL": f"sqlite:///{tmp_path / 'catalog.db'}",
           "CATALOG_JWKS_URL": jwks_url, "CATALOG_REGISTRY_URL": "", "CATALOG_NATS_URL": "",
           "CATALOG_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([sys.executable, "-m", "catalog"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def wait_ready(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url + "/health/ready") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, "the catalog did not start"
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_prices_from_the_real_catalog_then_stale_when_it_dies(
        start_cart: StartCart, real_catalog: tuple[str, Any]) -> None:
    url, proc = real_catalog
    await wait_ready(url)
    # the jwks server runs in this loop: the catalog fetches it while we await
    cart = await start_cart(catalog_url=url, price_fresh_seconds=0.01)
    status, doc = await cart.put("COF-0001", 2)
    assert status == 200, doc
    line = doc["items"][0]
    assert line["price_stale"] is False and line["unit_price"]["currency"] == "EUR"
    assert line["line_total_minor"] == 2 * line["unit_price"]["amount_minor"] > 0
    assert (await cart.put("NOPE-0001", 1))[1]["type"].endswith("cart/unknown-sku")
    proc.terminate()
    proc.wait(5)
    await asyncio.sleep(0.05)
    status, doc = await cart.call("GET", "/v1/cart")
    assert status == 200 and doc["stale"] is True
    assert doc["items"][0]["unit_price"] == line["unit_price"]
