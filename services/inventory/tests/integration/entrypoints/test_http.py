"""The HTTP API over a real server: public availability, admin endpoints behind test tokens,
cursor pages, and seeding from the catalog gating readiness."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chassis.testing.service import RunningService, eventually

from ..conftest import StartInventory

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
ADMIN = ("admin",)


async def admin(inventory: RunningService, method: str, path: str, body: Any = None) -> Any:
    return await inventory.call(method, path, body, roles=ADMIN)


async def test_admin_endpoints_need_the_admin_role(inventory: RunningService) -> None:
    for method, path in (("GET", "/v1/admin/stock"), ("GET", "/v1/admin/reservations"),
                         ("POST", "/v1/admin/stock/A-1/restock")):
        body = {"quantity": 1} if method == "POST" else None
        anonymous = await inventory.call(method, path, body, user=None)
        assert (anonymous.status, anonymous.headers["content-type"]) == (401, PROBLEM)
        customer = await inventory.call(method, path, body)
        assert (customer.status, customer.headers["content-type"]) == (403, PROBLEM)
        assert (await inventory.call(method, path, body, service="orders")).status == 401


async def test_restock_creates_then_adds_and_the_public_view_shows_it(
        inventory: RunningService) -> None:
    missing = await inventory.call("GET", "/v1/stock/KIT-0001", user=None)
    assert (missing.status, missing.headers["content-type"]) == (404, PROBLEM)
    assert missing.body["type"].endswith("/problems/inventory/unknown-sku")
    created = await admin(inventory, "POST", "/v1/admin/stock/KIT-0001/restock", {"quantity": 40})
    assert (created.status, created.body) == (200, {"sku": "KIT-0001", "initial": 40,
                                                    "available": 40, "reserved": 0, "sold": 0})
    more = await admin(inventory, "POST", "/v1/admin/stock/KIT-0001/restock", {"quantity": 2})
    assert (more.body["initial"], more.body["available"]) == (42, 42)
    public = await inventory.call("GET", "/v1/stock/KIT-0001", user=None)
    assert (public.status, public.headers["content-type"], public.body) == (
        200, "application/json", {"sku": "KIT-0001", "available": 42})


@pytest.mark.parametrize(("path", "body", "status", "slug"), [
    ("/v1/admin/stock/A-1/restock", {"quantity": 0}, 422, "validation-error"),
    ("/v1/admin/stock/A-1/restock", {"quantity": 1_000_001}, 422, "validation-error"),
    ("/v1/admin/stock/A-1/restock", {"quantity": "ten"}, 422, "validation-error"),
    ("/v1/admin/stock/A-1/restock", {"quantity": 1, "extra": 1}, 422, "validation-error"),
    ("/v1/admin/stock/a%20b/restock", {"quantity": 1}, 422, "inventory/invalid-sku"),
])
async def test_bad_restocks_are_clear_4xx_problems(inventory: RunningService, path: str,
                                                   body: Any, status: int, slug: str) -> None:
    reply = await admin(inventory, "POST", path, body)
    assert (reply.status, reply.headers["content-type"]) == (status, PROBLEM)
    assert reply.body["type"].endswith(f"/{slug}")


@pytest.mark.parametrize(("query", "slug"), [
    ("limit=0", "validation-error"), ("limit=1001", "validation-error"),
    ("limit=x", "validation-error"), ("cursor=forged", "invalid-cursor"),
    ("after=B-1", "validation-error"),  # the old key-based parameter is refused, not ignored
])
async def test_bad_page_parameters_are_400(inventory: RunningService, query: str,
                                           slug: str) -> None:
    for path in ("/v1/admin/stock", "/v1/admin/reservations"):
        reply = await admin(inventory, "GET", f"{path}?{query}")
        assert (reply.status, reply.headers["content-type"]) == (400, PROBLEM)
        assert reply.body["type"].endswith(f"/{slug}")


async def test_admin_stock_pages_by_sku_with_cursors(inventory: RunningService) -> None:
    for sku in ("C-1", "A-1", "B-1"):
        await admin(inventory, "POST", f"/v1/admin/stock/{sku}/restock", {"quantity": 1})
    first = (await admin(inventory, "GET", "/v1/admin/stock?limit=2")).body
    assert [i["sku"] for i in first["items"]] == ["A-1", "B-1"] and first["next"]
    rest = (await admin(inventory, "GET", f"/v1/admin/stock?limit=2&cursor={first['next']}")).body
    assert [i["sku"] for i in rest["items"]] == ["C-1"] and rest["next"] is None
    # a cursor of one listing is refused by the other
    other = await admin(inventory, "GET", f"/v1/admin/reservations?cursor={first['next']}")
    assert other.status == 400
    empty = await admin(inventory, "GET", "/v1/admin/reservations")
    assert (empty.status, empty.body) == (200, {"items": [], "next": None})


class LateCatalog:
    """The catalog's SKUs, unreachable until ``up`` is set."""

    def __init__(self, skus: list[str]) -> None:
        self.skus = skus
        self.up = asyncio.Event()

    async def all_skus(self) -> list[str]:
        if not self.up.is_set():
            raise ConnectionError("catalog away")
        return self.skus


async def test_stock_is_seeded_from_the_catalog_once_it_answers(
        start_inventory: StartInventory) -> None:
    catalog = LateCatalog(["KIT-0001", "KIT-0002", "BOK-0001", "TOY-1"])
    async with start_inventory(skus=catalog, seed_from_catalog=True,
                               seed_quantity=25) as inventory:
        ready = await inventory.call("GET", "/health/ready", user=None)
        assert ready.status == 503
        assert ready.body["checks"]["stock-seeded"].startswith("failing")
        catalog.up.set()

        async def is_ready() -> bool:
            return (await inventory.call("GET", "/health/ready", user=None)).status == 200

        await eventually(is_ready, timeout=20)
        page = (await admin(inventory, "GET", "/v1/admin/stock")).body
        assert [(i["sku"], i["available"]) for i in page["items"]] == [
            ("BOK-0001", 25), ("KIT-0001", 25), ("KIT-0002", 25), ("TOY-1", 25)]


async def test_a_route_fault_switched_on_live_fails_delays_or_drops_that_route_only(
        inventory: RunningService) -> None:
    import aiohttp

    from chassis.fault_rules import RouteFault

    faults = inventory.app.runtime.active_faults  # what the live configuration sets
    await admin(inventory, "POST", "/v1/admin/stock/KIT-0009/restock", {"quantity": 5})
    faults.set_routes([RouteFault(route="GET /v1/stock/{sku}", error_rate=1.0,
                                  error_status=503)])
    failed = await inventory.call("GET", "/v1/stock/KIT-0009", user=None)
    assert (failed.status, failed.headers["content-type"]) == (503, PROBLEM)
    assert failed.body["type"].endswith("/problems/fault/injected")
    assert (await inventory.call("GET", "/health/ready", user=None)).status == 200

    faults.set_routes([RouteFault(route="*", drop_rate=1.0)])
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await inventory.call("GET", "/v1/stock/KIT-0009", user=None)

    faults.set_routes([RouteFault(route="GET /v1/stock/{sku}", latency_ms=50)])
    delayed = await inventory.call("GET", "/v1/stock/KIT-0009", user=None)
    assert (delayed.status, delayed.body) == (200, {"sku": "KIT-0009", "available": 5})
    metrics = await inventory.call("GET", "/metrics", user=None)
    assert 'status="0"' in metrics.raw.decode()  # the dropped request, counted

    faults.set_routes([])
    assert (await inventory.call("GET", "/v1/stock/KIT-0009", user=None)).status == 200
