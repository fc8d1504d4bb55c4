"""Catalog writes are admin-only and verified by the catalog itself (not only at the gateway); the
internal price lookup takes service tokens of the `price_callers` only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from chassis.testing import TestIssuer

from ..conftest import PROBLEM, Catalog

pytestmark = pytest.mark.integration

NEW = {"sku": "KIT-0999", "name": "Copper Kettle", "description": "Whistles politely.",
       "price": {"amount_minor": 4900, "currency": "EUR"}, "category": "kitchen"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_only_admins_may_write(catalog: Catalog) -> None:
    anonymous = await catalog.call("POST", "/v1/admin/products", NEW, user=None)
    assert (anonymous.status, anonymous.headers["content-type"]) == (401, PROBLEM)
    customer = await catalog.call("POST", "/v1/admin/products", NEW, user="customer-1")
    assert (customer.status, customer.headers["content-type"]) == (403, PROBLEM)
    retire = await catalog.call("DELETE", "/v1/admin/products/00000000-0000-7000-8000-000000000000",
                                user="customer-1")
    assert retire.status == 403


async def test_bad_tokens_are_401_at_the_service_itself(catalog: Catalog,
                                                        issuer: TestIssuer) -> None:
    attacks: dict[str, Callable[[], str]] = {
        **issuer.forged_tokens(),
        "an admin's expired token": lambda: issuer.mint(roles=("admin",), ttl=-300),
        "a service token": lambda: issuer.service_token("orders")}
    for name, forge in attacks.items():
        reply = await catalog.call("POST", "/v1/admin/products", NEW, user=None,
                                   headers=bearer(forge()))
        assert (reply.status, reply.headers["content-type"]) == (401, PROBLEM), name


async def test_create_revise_and_retire_a_product(catalog: Catalog) -> None:
    created = await catalog.admin("POST", "/v1/admin/products", NEW)
    assert created.status == 201, created.body
    product = created.body
    assert product["sku"] == "KIT-0999" and product["price"]["amount_minor"] == 4900
    path = f"/v1/products/{product['id']}"
    assert created.headers["location"] == path  # where it is read; written under /v1/admin
    assert (await catalog.get(path)).body["name"] == "Copper Kettle"
    admin_path = f"/v1/admin/products/{product['id']}"

    await asyncio.sleep(0.002)  # so that the revision's timestamp is a later one
    revised = await catalog.admin("PATCH", admin_path, {"price": {"amount_minor": 3900,
                                                            "currency": "EUR"}})
    assert revised.status == 200
    assert revised.body["price"]["amount_minor"] == 3900
    assert revised.body["name"] == "Copper Kettle"
    assert revised.body["updated_at"] > product["updated_at"]
    by_sku = await catalog.get("/v1/products/by-sku/KIT-0999")
    assert by_sku.body["price"]["amount_minor"] == 3900

    retired = await catalog.admin("DELETE", admin_path)
    assert (retired.status, retired.raw) == (204, b"")
    assert (await catalog.get(path)).status == 404
    assert (await catalog.admin("DELETE", admin_path)).status == 404
    # a retired product's SKU is never reused
    again = await catalog.admin("POST", "/v1/admin/products", NEW)
    assert again.status == 409 and again.body["type"].endswith("catalog/sku-taken")


@pytest.mark.parametrize(("change", "slug"), [
    ({"category": "no-such-category"}, "catalog/unknown-category"),
    ({"sku": "lower-case"}, "catalog/invalid-product"),
    ({"name": "Tab\tin the name"}, "catalog/invalid-product"),
    ({"price": {"amount_minor": -1, "currency": "EUR"}}, "validation-error"),
    ({"price": {"amount_minor": 100, "currency": "euro"}}, "validation-error"),
    ({"price": {"amount_minor": 100, "currency": "EUR\n"}}, "catalog/invalid-product"),
    ({"price": {"amount_minor": 1.5, "currency": "EUR"}}, "validation-error"),
    ({"name": ""}, "validation-error"),
    ({"role": "admin"}, "validation-error"),  # unknown fields are refused, not ignored
])
async def test_invalid_products_are_422_problems(catalog: Catalog, change: dict[str, Any],
                                                 slug: str) -> None:
    reply = await catalog.admin("POST", "/v1/admin/products", {**NEW, **change})
    assert (reply.status, reply.headers["content-type"]) == (422, PROBLEM), reply.body
    assert reply.body["type"].endswith(slug)


async def test_revising_an_unknown_product_is_404(catalog: Catalog) -> None:
    assert (await catalog.admin("PATCH", "/v1/admin/products/not-a-uuid", {"name": "x"})).status == 404


async def test_internal_price_lookup_takes_service_tokens_of_allowed_services_only(
        catalog: Catalog) -> None:
    body = {"skus": ["KIT-0007", "NOPE-0001", "KIT-0007", "bad sku"]}
    reply = await catalog.call("POST", "/v1/internal/prices", body, service="cart")
    assert reply.status == 200, reply.body
    assert reply.body == {
        "prices": {"KIT-0007": {"amount_minor": 11900, "currency": "EUR"}},
        "missing": ["NOPE-0001", "bad sku"],
        "names": {"KIT-0007": "Enamelled Dutch Oven 5 L"}}
    assert (await catalog.call("POST", "/v1/internal/prices", body,
                               service="orders")).status == 200
    # a user token (even an admin's), no token, a service not on the allow-list: refused
    assert (await catalog.admin("POST", "/v1/internal/prices", body)).status == 401
    assert (await catalog.call("POST", "/v1/internal/prices", body, user=None)).status == 401
    assert (await catalog.call("POST", "/v1/internal/prices", body,
                               service="notifications")).status == 403
    too_many = {"skus": [f"A-{i}" for i in range(101)]}
    assert (await catalog.call("POST", "/v1/internal/prices", too_many,
                               service="cart")).status == 422
