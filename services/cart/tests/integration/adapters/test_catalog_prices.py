"""Against the real catalog (``python -m catalog`` in a subprocess, demo data, its own SQLite
file): prices and names come from its internal lookup with the cart's service token, through the
chassis client; when it dies the cart keeps answering with the cached prices, flagged stale."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from chassis.testing import free_port

from ..conftest import StartCart

pytestmark = pytest.mark.integration


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


async def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            assert proc.poll() is None, f"the catalog exited with {proc.returncode}"
            try:
                async with http.get(url + "/health/ready") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert loop.time() < deadline, "the catalog did not start"
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_prices_from_the_real_catalog_then_stale_when_it_dies(
        start_cart: StartCart, real_catalog: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, proc = real_catalog
    await wait_ready(url, proc)  # the keys are served in this loop: the catalog gets them meanwhile
    cart = await start_cart(catalog_url=url, price_fresh_seconds=0)
    reply = await cart.put("COF-0001", 2)
    assert reply.status == 200, reply.body
    line = reply.body["items"][0]
    assert line["price_stale"] is False and line["unit_price"]["currency"] == "EUR"
    assert line["name"] == "Ethiopian Yirgacheffe Beans 250 g"
    assert line["line_total_minor"] == 2 * line["unit_price"]["amount_minor"] > 0
    assert (await cart.put("NOPE-0001", 1)).body["type"].endswith("cart/unknown-sku")
    proc.terminate()
    proc.wait(5)
    reply = await cart.get()
    assert reply.status == 200 and reply.body["stale"] is True
    assert reply.body["items"][0]["unit_price"] == line["unit_price"]
    assert reply.body["items"][0]["name"] == line["name"]
