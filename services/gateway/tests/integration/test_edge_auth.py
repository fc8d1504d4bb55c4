"""Authentication at the edge over real sockets: every JWT attack is a 401 problem, never a 500;
key rotation; public, private and admin routes; what the upstream is told about the caller."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from chassis.testing import TestIssuer

from .conftest import ISSUER

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
TYPES = "https://souk.dev/problems/"


# the chassis's list of forgeries, plus one only the edge refuses: a genuine service token
ATTACKS: dict[str, Callable[[], str]] = {
    **ISSUER.forged_tokens(), "service token": lambda: ISSUER.service_token("orders")}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def start_edge(start_gateway: Any, keys: Any) -> Any:
    """The gateway with its standard filters, verifying against the served JWKS."""

    async def start(**overrides: Any) -> str:
        return str(await start_gateway(filters=None, jwks_url=keys.url, **overrides))

    return start


@pytest.fixture
async def edge(start_upstream: Any, start_edge: Any) -> str:
    await start_upstream("catalog-1")
    return str(await start_edge())


async def expect_problem(resp: Any, status: int, slug: str) -> dict[str, Any]:
    assert resp.status == status
    assert resp.content_type == PROBLEM
    doc: dict[str, Any] = await resp.json(content_type=PROBLEM)
    assert doc["type"] == TYPES + slug and doc["status"] == status
    return doc


@pytest.mark.parametrize("name", list(ATTACKS))
async def test_every_jwt_attack_is_a_401_problem(edge: str, client: Any, name: str) -> None:
    async with client.get(f"{edge}/api/v1/private/echo", headers=bearer(ATTACKS[name]())) as resp:
        await expect_problem(resp, 401, "gateway/unauthenticated")
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_token_in_the_query_string_is_refused_even_when_valid(edge: str,
                                                                      client: Any) -> None:
    token = ISSUER.mint()
    for name in ("access_token", "token", "jwt"):
        async with client.get(f"{edge}/api/v1/private/echo", params={name: token},
                              headers=bearer(token)) as resp:
            doc = await expect_problem(resp, 401, "gateway/unauthenticated")
        assert "URL" in doc["detail"]


async def test_a_private_route_without_a_token_is_401(edge: str, client: Any) -> None:
    for headers in ({}, {"Authorization": "Basic dTpw"}, {"Authorization": "Bearer "}):
        async with client.get(f"{edge}/api/v1/private/echo", headers=headers) as resp:
            await expect_problem(resp, 401, "gateway/unauthenticated")


async def test_a_valid_token_passes_and_the_upstream_verifies_it_again(edge: str,
                                                                       client: Any) -> None:
    token = ISSUER.mint(sub="user-42")
    async with client.get(f"{edge}/api/v1/private/echo",
                          headers={**bearer(token), "X-Souk-User": "admin"}) as resp:
        assert resp.status == 200
        doc = await resp.json()
    seen = {k: v for k, v in doc["headers"] if k in ("authorization", "x-souk-user")}
    assert seen == {"authorization": f"Bearer {token}", "x-souk-user": "user-42"}


async def test_a_caller_cannot_claim_a_user_on_a_public_route(edge: str, client: Any) -> None:
    async with client.get(f"{edge}/api/v1/catalog/echo", headers={"X-Souk-User": "admin"}) as r:
        doc = await r.json()
    assert [v for k, v in doc["headers"] if k == "x-souk-user"] == []


async def test_public_methods_admit_anonymous_reads_only(edge: str, client: Any) -> None:
    async with client.get(f"{edge}/api/v1/shop/echo") as resp:
        assert resp.status == 200
    async with client.get(f"{edge}/api/v1/shop/echo", headers=bearer(ISSUER.mint(ttl=-600))) as r:
        assert r.status == 200  # a stale token does not lock anyone out of public reads
    async with client.post(f"{edge}/api/v1/shop/echo", data=b"x") as resp:
        await expect_problem(resp, 401, "gateway/unauthenticated")
    async with client.post(f"{edge}/api/v1/shop/echo", data=b"x",
                           headers=bearer(ISSUER.mint())) as resp:
        assert resp.status == 200


async def test_a_new_key_is_accepted_after_one_refetch_and_old_tokens_stay_valid(
        edge: str, client: Any, keys: Any) -> None:
    old_token = ISSUER.mint(sub="before")
    async with client.get(f"{edge}/api/v1/private/echo", headers=bearer(old_token)) as resp:
        assert resp.status == 200
    assert keys.fetches == 1
    rotated = TestIssuer()
    keys.issuers.append(rotated)  # identity rotated: the JWKS lists the new key and the old
    await asyncio.sleep(1.05)  # the verifier refetches at most once a second (flood guard)
    async with client.get(f"{edge}/api/v1/private/echo",
                          headers=bearer(rotated.mint(sub="after"))) as resp:
        assert resp.status == 200
    assert keys.fetches == 2
    async with client.get(f"{edge}/api/v1/private/echo",
                          headers=bearer(ISSUER.mint(sub="still-old-key"))) as resp:
        assert resp.status == 200
    assert keys.fetches == 2


async def test_a_customer_on_an_admin_route_is_403(edge: str, client: Any) -> None:
    async with client.get(f"{edge}/api/v1/admin/echo", headers=bearer(ISSUER.mint())) as resp:
        await expect_problem(resp, 403, "gateway/forbidden")
    async with client.get(f"{edge}/api/v1/admin/echo",
                          headers=bearer(ISSUER.mint(roles=("admin",)))) as resp:
        assert resp.status == 200


async def test_an_admin_route_from_outside_the_allow_list_is_403(
        start_upstream: Any, start_edge: Any, client: Any) -> None:
    await start_upstream("catalog-1")
    edge = await start_edge(admin_allow="10.0.0.0/8, ::1/128")
    async with client.get(f"{edge}/api/v1/admin/echo",
                          headers=bearer(ISSUER.mint(roles=("admin",)))) as resp:
        doc = await expect_problem(resp, 403, "gateway/forbidden")
    assert "address" in doc["detail"]
    async with client.get(f"{edge}/api/v1/private/echo", headers=bearer(ISSUER.mint())) as resp:
        assert resp.status == 200  # other routes do not care where the caller is


async def test_an_internal_route_is_not_reachable_from_outside(edge: str, client: Any) -> None:
    async with client.get(f"{edge}/api/v1/hidden/echo",
                          headers=bearer(ISSUER.mint(roles=("admin",)))) as resp:
        await expect_problem(resp, 404, "gateway/no-route")


async def test_rejections_are_counted(edge: str, client: Any) -> None:
    async with client.get(f"{edge}/api/v1/private/echo") as resp:
        await resp.read()
    async with client.get(f"{edge}/metrics") as resp:
        text = await resp.text()
    assert 'souk_gateway_auth_rejections_total{status="401"} 1.0' in text


async def test_a_key_rotated_in_just_after_a_fetch_is_accepted(edge: str, client: Any,
                                                               keys: Any) -> None:
    async with client.get(f"{edge}/api/v1/private/echo", headers=bearer(ISSUER.mint())) as resp:
        assert resp.status == 200
    rotated = TestIssuer()
    keys.issuers.append(rotated)  # within the verifier's once-a-second refetch guard
    async with client.get(f"{edge}/api/v1/private/echo",
                          headers=bearer(rotated.mint(sub="right-after"))) as resp:
        assert resp.status == 200  # the edge waits out the guard rather than refuse the token
    assert keys.fetches == 2


async def test_every_api_document_is_public_whatever_its_route_needs(
        start_upstream: Any, start_edge: Any, client: Any) -> None:
    """A newcomer reads how to sign up before holding a token: the document asked through a
    route that needs a token, or the admin role from an allowed address, is served to anyone,
    for GET and HEAD only; the route's own paths still need what they need."""
    await start_upstream("catalog-1")
    edge = await start_edge(admin_allow="10.0.0.0/8")  # this client is outside it
    for prefix in ("/api/v1/private", "/api/v1/admin"):
        async with client.get(f"{edge}{prefix}/openapi.json") as resp:
            assert resp.status == 200, prefix
            doc = await resp.json()
        name = prefix.rsplit("/", 1)[1]
        assert doc["servers"] == [{"url": "/api/v1"}]
        assert set(doc["paths"]) == {f"/{name}/products", f"/{name}/products/{{product_id}}"}
        async with client.head(f"{edge}{prefix}/openapi.json") as head:
            # the same answer without its body: the rewritten document's length and type
            assert head.status == 200 and await head.read() == b""
            assert head.headers["Content-Length"] == resp.headers["Content-Length"]
            assert head.content_type == "application/json"
    async with client.get(f"{edge}/api/v1/private/echo") as resp:
        await expect_problem(resp, 401, "gateway/unauthenticated")
    async with client.get(f"{edge}/api/v1/admin/echo") as resp:
        await expect_problem(resp, 403, "gateway/forbidden")
    async with client.post(f"{edge}/api/v1/private/openapi.json", json={}) as resp:
        await expect_problem(resp, 401, "gateway/unauthenticated")


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND"])
async def test_a_method_the_edge_never_forwards_is_405_before_any_token_is_asked_for(
        edge: str, client: Any, method: str) -> None:
    """No service answers TRACE: the edge says so, with what it does forward, rather than a
    401 that a token would only turn into the service's 405."""
    async with client.request(method, f"{edge}/api/v1/private/echo") as resp:
        doc = await expect_problem(resp, 405, "gateway/method-not-allowed")
        assert resp.headers["Allow"] == "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE"
    assert method in doc["detail"]
