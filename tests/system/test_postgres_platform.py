"""The checkout platform on PostgreSQL per service (``[platform] postgres``), with two instances
each of orders, inventory and payments sharing their service's database: 600 checkouts at
concurrency 16 (a fifth declined) with one orders instance SIGKILLed during them; no checkout
fails, every order ends, no payment is authorized or captured twice, `souk verify` is clean.
One platform launch. Needs a PostgreSQL server (``SOUK_TEST_POSTGRES_URL``); the databases are
dropped afterwards with ``souk down --purge``. PostgreSQL only: instances sharing their service's
database is what a server allows and a SQLite file does not."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from souk.postgres import service_url

from .checkout_platform import CHECKOUT_TOPOLOGY, Checkout, checkout_shop
from .conftest import only_on

pytestmark = [pytest.mark.system, pytest.mark.postgres]

CHECKOUTS, CONCURRENCY = 600, 16
SHARED = ("orders", "inventory", "payments")  # two instances each, one database each


def _topology() -> str:
    text = CHECKOUT_TOPOLOGY
    for service in SHARED:
        text = text.replace(f"[services.{service}]\ninstances = 1\n",
                            f"[services.{service}]\ninstances = 2\n", 1)
    return text


engine = only_on("postgres")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[Checkout]:
    """The checkout platform on the suite's ``postgres`` engine (tests/system/conftest.py: a
    fresh prefix, purged afterwards), two instances each of orders, inventory and payments."""
    topology = _topology()
    assert topology.count("instances = 2") == len(SHARED)
    with checkout_shop(tmp_path_factory, "souk-postgres", topology, engine) as shop:
        yield shop


def _databases(shop: Checkout) -> tuple[str, dict[str, str]]:
    record = json.loads((shop.platform.home / "data" / "postgres.json").read_text())
    return record["server"], record["databases"]


async def _query(url: str, sql: str) -> list[dict[str, object]]:
    import asyncpg

    from chassis.db.postgres import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return [dict(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in raw if b"=" in entry)


def _metric(url: str, name: str, *labels: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") and all(label in line for label in labels))


def _orders_placed(url: str) -> float:
    return _metric(url, "souk_http_requests_total", 'method="POST"', 'route="/v1/orders"')


def test_every_stateful_service_has_its_own_database_its_instances_share(shop: Checkout) -> None:
    server, databases = _databases(shop)
    assert set(databases) == {"registry", "identity", "catalog", "cart", "inventory", "orders",
                              "payments", "notifications", "analytics"}
    assert not list((shop.platform.home / "data").glob("*.db"))  # no SQLite file anywhere
    for service in SHARED:
        urls = {_environ(shop.pid_of(f"{service}-{slot}"))[f"{service.upper()}_DATABASE_URL"]
                for slot in (1, 2)}
        assert urls == {service_url(server, databases[service])}, urls


async def test_two_instances_each_on_postgresql_under_load_and_a_kill_lose_and_double_nothing(
        shop: Checkout) -> None:
    began = time.monotonic()
    load = shop.load_in_background("--checkouts", str(CHECKOUTS), "--concurrency",
                                   str(CONCURRENCY), "--decline-rate", "0.2")
    victim_url, victim = shop.url_of("orders"), shop.pid_of("orders-1")
    deadline = time.monotonic() + 60
    while await asyncio.to_thread(_orders_placed, victim_url) < 20:  # well into the load
        assert load.poll() is None, "the load ended before orders-1 took 20 orders"
        assert time.monotonic() < deadline, "orders-1 took fewer than 20 orders in 60 s"
        await asyncio.sleep(0.1)
    os.kill(victim, signal.SIGKILL)
    out, err = await asyncio.to_thread(load.communicate, timeout=240)
    assert load.returncode == 0, err[-3000:]
    result = json.loads(out)
    assert result["checkouts"] == CHECKOUTS and result["failed"] == 0, result
    assert result["confirmed"] > 0 and result["cancelled"] > 0, result  # declines among them
    assert load.poll() is not None and shop.pid_of("orders-1") != victim

    report = shop.verify(wait=120)  # every order terminal, one capture per confirmed order …
    assert report["counts"]["orders"] >= CHECKOUTS and report["counts"]["not_terminal"] == 0

    server, databases = _databases(shop)
    doubled = await _query(service_url(server, databases["payments"]), """
        SELECT stream_id, type, count(*) AS n FROM payment_events
        WHERE type IN ('Authorized', 'Captured', 'Refunded') GROUP BY stream_id, type
        HAVING count(*) > 1""")
    assert doubled == [], doubled  # … and no payment authorized or captured twice
    # the work was shared: the surviving orders instance took orders, and both instances of
    # inventory and payments consumed messages
    assert _orders_placed(next(p["url"] for p in shop.platform.status()
                               if p["instance"] == "orders-2")) > 0
    for instance in ("inventory-1", "inventory-2", "payments-1", "payments-2"):
        url = next(p["url"] for p in shop.platform.status() if p["instance"] == instance)
        assert _metric(url, "souk_messages_consumed_total") > 0, instance
    print(f"\n{CHECKOUTS} checkouts on PostgreSQL with orders-1 killed: {result['confirmed']} "
          f"confirmed, {result['cancelled']} cancelled, {result['retried']} retried, "
          f"{time.monotonic() - began:.1f} s with verify")
