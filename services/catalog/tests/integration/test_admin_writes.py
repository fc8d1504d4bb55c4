"""Catalog writes are admin-only and verified by the catalog itself (not only at the gateway)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from catalog.app import create_app
from chassis.auth import StaticJwks, TokenVerifier
from chassis.testing import TestIssuer, serve_app

from .conftest import catalog_settings

pytestmark = pytest.mark.integration

ISSUER = TestIssuer()
ADMIN = ISSUER.mint(sub="admin-1", roles=("admin",))
CUSTOMER = ISSUER.mint(sub="customer-1", roles=("customer",))
NEW = {"sku": "KIT-0999", "name": "Copper Kettle", "description": "Whistles politely.",
       "price": {"amount_minor": 4900, "currency": "EUR"}, "category": "kitchen"}


@pytest.fixture
async def http(database_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    app = create_app(catalog_settings(database_url))

    async def jwks() -> dict[str, Any]:
        return ISSUER.jwks()

    app.state.runtime.verifier = TokenVerifier(StaticJwks(jwks), issuer=ISSUER.issuer,
                                               audience=["souk", "souk-internal"])
    async with serve_app(app) as base_url, aiohttp.ClientSession(base_url) as session:
        yield session


async def call(http: aiohttp.ClientSession, method: str, path: str, token: str | None = None,
               body: Any = None) -> tuple[int, str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, path, json=body, headers=headers) as resp:
        payload = await resp.json(content_type=None) if resp.status != 204 else None
        return resp.status, resp.content_type, payload


async def test_only_admins_may_write(http: aiohttp.ClientSession) -> None:
    status, ctype, _ = await call(http, "POST", "/v1/products", None, NEW)
    assert (status, ctype) == (401, "application/problem+json")
    status, ctype, _ = await call(http, "POST", "/v1/products", CUSTOMER, NEW)
    assert (status, ctype) == (403, "application/problem+json")
    status, _, _ = await call(http, "DELETE", "/v1/products/00000000-0000-7000-8000-000000000000",
                              CUSTOMER)
    assert status == 403


@pytest.mark.parametrize("token", [
    ISSUER.mint(roles=("admin",), ttl=-300),
    ISSUER.mint(roles=("admin",), aud="elsewhere"),
    ISSUER.mint(roles=("admin",), drop=("exp",)),
    TestIssuer().mint(roles=("admin",)),
    ISSUER.mint(roles=("admin",), headers={"kid": "../../../etc/passwd"}),
    ISSUER.service_token("orders"),
])
async def test_bad_tokens_are_401_at_the_service_itself(http: aiohttp.ClientSession,
                                                        token: str) -> None:
    status, ctype, _ = await call(http, "POST", "/v1/products", token, NEW)
    assert (status, ctype) == (401, "application/problem+json")


async def test_create_revise_and_retire_a_product(http: aiohttp.ClientSession) -> None:
    status, _, created = await call(http, "POST", "/v1/products", ADMIN, NEW)
    assert status == 201, created
    assert created["sku"] == "KIT-0999" and created["price"]["amount_minor"] == 4900
    path = f"/v1/products/{created['id']}"
    assert (await call(http, "GET", path))[2]["name"] == "Copper Kettle"

    time.sleep(0.002)
    status, _, revised = await call(http, "PATCH", path, ADMIN,
                                    {"price": {"amount_minor": 3900, "currency": "EUR"}})
    assert status == 200
    assert revised["price"]["amount_minor"] == 3900 and revised["name"] == "Copper Kettle"
    assert revised["updated_at"] > created["updated_at"]
    assert (await call(http, "GET", "/v1/products/by-sku/KIT-0999"))[2]["price"][
        "amount_minor"] == 3900

    assert (await call(http, "DELETE", path, ADMIN))[0] == 204
    assert (await call(http, "GET", path))[0] == 404
    assert (await call(http, "DELETE", path, ADMIN))[0] == 404
    # a retired product's SKU is never reused
    status, _, problem = await call(http, "POST", "/v1/products", ADMIN, NEW)
    assert status == 409 and problem["type"].endswith("catalog/sku-taken")


@pytest.mark.parametrize(("change", "slug"), [
    ({"category": "no-such-category"}, "catalog/unknown-category"),
    ({"sku": "lower-case"}, "catalog/invalid-product"),
    ({"price": {"amount_minor": -1, "currency": "EUR"}}, "validation-error"),
    ({"price": {"amount_minor": 100, "currency": "euro"}}, "validation-error"),
    ({"name": ""}, "validation-error"),
    ({"role": "admin"}, "validation-error"),  # unknown fields are refused, not ignored
])
async def test_invalid_products_are_422_problems(http: aiohttp.ClientSession,
                                                 change: dict[str, Any], slug: str) -> None:
    status, ctype, problem = await call(http, "POST", "/v1/products", ADMIN, {**NEW, **change})
    assert (status, ctype) == (422, "application/problem+json"), problem
    assert problem["type"].endswith(slug)


async def test_revising_an_unknown_product_is_404(http: aiohttp.ClientSession) -> None:
    status, _, _ = await call(http, "PATCH", "/v1/products/not-a-uuid", ADMIN, {"name": "x"})
    assert status == 404


async def test_internal_price_lookup_takes_service_tokens_of_allowed_services_only(
        http: aiohttp.ClientSession) -> None:
    body = {"skus": ["KIT-0007", "NOPE-0001", "KIT-0007", "bad sku"]}
    status, _, prices = await call(http, "POST", "/v1/internal/prices",
                                   ISSUER.service_token("cart"), body)
    assert status == 200, prices
    assert set(prices["prices"]) == {"KIT-0007"}
    assert prices["prices"]["KIT-0007"]["currency"] == "EUR"
    assert prices["missing"] == ["NOPE-0001", "bad sku"]
    # a user token (even an admin's) and a service not on the allow-list are refused
    assert (await call(http, "POST", "/v1/internal/prices", ADMIN, body))[0] == 401
    assert (await call(http, "POST", "/v1/internal/prices",
                       ISSUER.service_token("notifications"), body))[0] == 403
    assert (await call(http, "POST", "/v1/internal/prices", None, body))[0] == 401
