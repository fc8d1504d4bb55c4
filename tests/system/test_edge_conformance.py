"""Every API document the edge serves describes the edge: requests generated from each one (valid
and invalid), sent through the gateway of a running platform, get only answers the document
declares — the service's own and the gateway's (its rate limits, size limits, deadlines, token
checks) — and never a 5xx. The services' own documents are checked service by service in their
integration tests; this is what a client generated from `/api/v1/<context>/openapi.json` meets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest

from chassis.testing.conformance import check_conformance
from gateway.routes import load_routes
from gateway.settings import packaged_routes_file

from .checkout_platform import CHECKOUT_TOPOLOGY, Checkout, checkout_shop

pytestmark = pytest.mark.system

# every exposed route: each has a document of its own (the root route's is the front end's)
PREFIXES = sorted(route.prefix for route in load_routes(packaged_routes_file()).routes
                  if route.exposed)
# the checkout platform and the front end
TOPOLOGY = CHECKOUT_TOPOLOGY + """
[services.web]
instances = 1
database = true
"""
# a stream that stays open while the order is pending: no single answer to check
STREAMS = frozenset({"GET /orders/{order_id}/events"})


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[Checkout]:
    """On both engines: what a service answers invalid input can depend on its database (a NUL
    in a text PostgreSQL refuses, SQLite stores)."""
    with checkout_shop(tmp_path_factory, "souk-edge-conformance", TOPOLOGY, engine) as plat:
        yield plat


@pytest.fixture(scope="module")
def tokens(shop: Checkout) -> dict[str, str]:
    async def both() -> dict[str, str]:
        async with aiohttp.ClientSession() as s:
            return {who: await shop.token(s, who) for who in ("admin", "customer")}
    return asyncio.run(both())


def test_the_routes_read_are_the_contexts_and_their_admin_routes() -> None:
    assert {"/", "/api/v1/catalog", "/api/v1/identity", "/api/v1/orders",
            "/api/v1/orders/admin"} <= set(PREFIXES)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_answer_through_the_edge_is_documented(shop: Checkout, tokens: dict[str, str],
                                                     prefix: str) -> None:
    server = prefix.rsplit("/", 1)[0]  # the document's servers entry (gateway.openapi)
    admin = "admin" in prefix or prefix in ("/api/v1/analytics", "/api/v1/inventory")
    failures = check_conformance(
        shop.gateway + server, document_url=f"{shop.gateway}{prefix.rstrip('/')}/openapi.json",
        token=tokens["admin" if admin else "customer"], max_examples=8, skip=STREAMS)
    assert failures == [], "\n".join(failures)


def test_head_is_answered_through_the_edge_as_get_without_a_body(
        shop: Checkout, tokens: dict[str, str]) -> None:
    """RFC 9110 9.1: a general-purpose server supports GET and HEAD. The edge forwards HEAD; a
    service answers it with GET's status and headers and no body (before, every route answered
    405), and the connection stays usable for the next request."""
    async def check() -> None:
        auth = {"Authorization": f"Bearer {tokens['customer']}"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as s:
            for path in ("/api/v1/catalog/products?limit=2", "/api/v1/cart", "/api/v1/orders",
                         "/api/v1/catalog/openapi.json", "/", "/products/nope"):
                async with s.get(shop.gateway + path, headers=auth) as got:
                    body = await got.read()
                async with s.head(shop.gateway + path, headers=auth) as head:
                    assert head.status == got.status, path
                    assert head.headers["Content-Type"] == got.headers["Content-Type"], path
                    assert int(head.headers["Content-Length"]) == len(body) > 0, path
                    assert await head.read() == b"", path
            async with s.head(shop.gateway + "/api/v1/catalog/products?limit=0") as refused:
                assert refused.status == 400
                assert refused.headers["Content-Type"] == "application/problem+json"
            async with s.delete(shop.gateway + "/api/v1/catalog/products", headers=auth) as no:
                assert no.status == 405 and "HEAD" in no.headers["Allow"].split(", ")
                assert "/v1/products" not in (await no.json())["detail"]  # the service's path
            async with s.get(shop.gateway + "/api/v1/cart/internal/carts/x", headers=auth) as no:
                assert no.status == 404 and "/v1/cart" not in (await no.json())["detail"]
    asyncio.run(check())
