"""A service cut from its PostgreSQL database, through the fault proxy (`souk fault partition
payments database`), during checkouts: nothing is lost, and once healed every order ends and
`souk verify` is clean. Needs a PostgreSQL server (``SOUK_TEST_POSTGRES_URL``): a SQLite file has
no network to cut."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest

from chassis.testing import postgres_url_or_skip_reason

from .checkout_platform import CHECKOUT_TOPOLOGY, Checkout, Shopper, checkout_shop
from .test_faults import TERMINAL, a_sku, all_terminal, settled_as

pytestmark = [pytest.mark.system, pytest.mark.postgres]


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    from chassis.db.postgres import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def payments_database() -> Iterator[str]:
    """A fresh database for payments on the test server; dropped afterwards."""
    url, reason = postgres_url_or_skip_reason()
    if url is None:
        pytest.skip(reason)
    name = f"souk_test_faults_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, payments_database: str) -> Iterator[Checkout]:
    topology = CHECKOUT_TOPOLOGY.replace(
        "[platform]\n", '[platform]\nfault_proxies = ["payments"]\n', 1).replace(
        'env = {{ PAYMENTS_TIMEOUT_DELAY = "4" }}',
        f'env = {{{{ PAYMENTS_TIMEOUT_DELAY = "4", PAYMENTS_DATABASE_URL = "{payments_database}" }}}}', 1)
    with checkout_shop(tmp_path_factory, "souk-db-faults", topology) as shop:
        yield shop


async def test_payments_cut_from_its_database_during_checkouts_then_healed_ends_clean(
        shop: Checkout) -> None:
    async with aiohttp.ClientSession() as s:
        shoppers = [await shop.shopper(s) for _ in range(4)]
        sku = await a_sku(s, shop)
        shopper = shoppers[0]
        await shop.fill(s, shopper, sku, 1)
        status, order = await shop.checkout(s, shopper, "before-cut", wait=30)
        assert (status, order["status"]) == (201, "CONFIRMED"), order  # payments on PostgreSQL
        shop.souk("fault", "partition", "payments", "database")
        assert "payments → database: partition" in shop.souk("fault", "list").stdout
        placed: list[tuple[Shopper, str]] = []
        for n, shopper in enumerate(shoppers):
            await shop.fill(s, shopper, sku, 1)
            status, order = await shop.checkout(s, shopper, f"db-cut-{n}", wait=1)
            assert status in (201, 202), order
            placed.append((shopper, order["id"]))
        # payments can record no authorization: each order's authorization times out (2 s
        # here) and it is cancelled (its void waiting for payments), none confirmed
        cut = await settled_as(s, shop, placed, {"CANCELLING", "CANCELLED"}, 60)
        assert set(cut.values()) <= {"CANCELLING", "CANCELLED"}, cut
        shop.souk("fault", "heal", "payments")
        healed = time.monotonic()
        # payments takes its backlog first (the cut checkouts' authorizations and voids, each
        # redelivered); a checkout may still time out on its 2 s authorization meanwhile, but
        # within a bounded number of tries one goes through payments again
        confirmed = None
        for n in range(10):
            shopper = shoppers[n % len(shoppers)]
            await shop.fill(s, shopper, sku, 1)
            status, order = await shop.checkout(s, shopper, f"db-healed-{n}", wait=30)
            placed.append((shopper, order["id"]))
            if order["status"] == "CONFIRMED":
                confirmed = n
                break
        assert confirmed is not None, "no checkout confirmed in 10 tries after the heal"
        print(f"first confirmed checkout after the heal: try {confirmed + 1}, "
              f"{time.monotonic() - healed:.1f} s after it")
        states = await all_terminal(s, shop, placed, 90)
        assert all(state in TERMINAL for state in states.values()), states
    report = shop.verify()
    assert report["ok"], report
