"""A service cut from its PostgreSQL database, through the fault proxy (`souk fault partition
payments database`), during checkouts: nothing is lost, and once healed every order ends and
`souk verify` is clean. Needs a PostgreSQL server (``SOUK_TEST_POSTGRES_URL``): a SQLite file has
no network to cut. Every service of the platform is on PostgreSQL (the system suite's
``postgres`` engine, tests/system/conftest.py)."""

from __future__ import annotations

import time

import aiohttp
import pytest

from .checkout_platform import FAULTS_TOPOLOGY, Checkout, Shopper, shared_shop
from .conftest import only_on
from .test_faults import TERMINAL, a_sku, all_terminal, settled_as

pytestmark = [pytest.mark.system, pytest.mark.postgres]


engine = only_on("postgres")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Checkout:
    """The checkout platform on PostgreSQL per service, payments behind the fault proxy (shared
    with test_faults.py's, see SHARED)."""
    return shared_shop(tmp_path_factory, engine, "faults", FAULTS_TOPOLOGY)


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
