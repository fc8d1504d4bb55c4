"""Identity and the zero-trust edge, end to end through the gateway of a running platform."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp
import jwt
import pytest
from yarl import URL

from chassis.testing import TestIssuer

from .conftest import Platform

pytestmark = pytest.mark.system

PROBLEM = "application/problem+json"
NEW_PRODUCT = {"name": "Souk Test Lamp", "description": "Made by the system test.",
               "price": {"amount_minor": 1999, "currency": "EUR"}, "category": "home"}


async def call(s: aiohttp.ClientSession, method: str, url: str, token: str | None = None,
               body: Any = None) -> tuple[int, str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with s.request(method, url, json=body, headers=headers) as resp:
        data = await resp.json(content_type=None) if resp.status != 204 else None
        return resp.status, resp.content_type, data


async def login(s: aiohttp.ClientSession, plat: Platform, email: str, password: str) -> dict[str, Any]:
    status, _, body = await call(s, "POST", f"{plat.gateway}/api/v1/identity/login",
                                 body={"email": email, "password": password})
    assert status == 200, body
    return dict(body)


def demo_users(plat: Platform) -> dict[str, Any]:
    return dict(json.loads((plat.home / "secrets" / "demo-users.json").read_text()))


async def test_sign_up_log_in_and_see_only_yourself(platform: Platform) -> None:
    email = f"shopper-{uuid.uuid4().hex[:8]}@example.com"
    async with aiohttp.ClientSession() as s:
        status, _, user = await call(s, "POST", f"{platform.gateway}/api/v1/identity/signup",
                                     body={"email": email, "password": "correct horse battery",
                                           "role": "admin", "roles": ["admin"]})
        assert status == 201 and user["roles"] == ["customer"]  # mass assignment ignored
        tokens = await login(s, platform, email, "correct horse battery")
        status, _, me = await call(s, "GET", f"{platform.gateway}/api/v1/identity/me",
                                   tokens["access_token"])
        assert status == 200 and me["email"] == email and "password" not in json.dumps(me)
        status, ctype, _ = await call(s, "GET", f"{platform.gateway}/api/v1/identity/me")
        assert (status, ctype) == (401, PROBLEM)


async def test_catalog_writes_need_the_admin_role_at_the_edge_and_at_the_service(
        platform: Platform) -> None:
    users = demo_users(platform)
    sku = f"HOM-{uuid.uuid4().int % 10**6:06d}"
    async with aiohttp.ClientSession() as s:
        customer = await login(s, platform, users["customer"]["email"],
                               users["customer"]["password"])
        admin = await login(s, platform, users["admin"]["email"], users["admin"]["password"])
        url = f"{platform.gateway}/api/v1/catalog/admin/products"
        status, ctype, _ = await call(s, "POST", url, None, {**NEW_PRODUCT, "sku": sku})
        assert (status, ctype) == (401, PROBLEM)
        status, ctype, _ = await call(s, "POST", url, customer["access_token"],
                                      {**NEW_PRODUCT, "sku": sku})
        assert (status, ctype) == (403, PROBLEM)
        async with s.post(url, json={**NEW_PRODUCT, "sku": sku},
                          headers={"Authorization": f"Bearer {admin['access_token']}"}) as resp:
            created = await resp.json()
            assert resp.status == 201, created
            # the service's Location, made public by the edge
            assert resp.headers["Location"] == f"/api/v1/catalog/products/{created['id']}"
        status, _, read = await call(s, "GET", platform.gateway + resp.headers["Location"])
        assert (status, read["sku"]) == (200, sku)
        # the old spelling of a write is not a route of the catalog any more
        status, ctype, _ = await call(s, "POST", f"{platform.gateway}/api/v1/catalog/products",
                                      admin["access_token"], {**NEW_PRODUCT, "sku": sku + "2"})
        assert (status, ctype) == (405, PROBLEM)
        # the catalog verifies the token itself: straight to an instance, no gateway in between
        direct = platform.url_of("catalog")
        status, ctype, _ = await call(s, "POST", f"{direct}/v1/admin/products",
                                      customer["access_token"], {**NEW_PRODUCT, "sku": sku + "1"})
        assert (status, ctype) == (403, PROBLEM)
        status, ctype, _ = await call(s, "POST", f"{direct}/v1/admin/products", None,
                                      {**NEW_PRODUCT, "sku": sku + "1"})
        assert (status, ctype) == (401, PROBLEM)


async def test_key_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(
        platform: Platform) -> None:
    """Every verifier accepts a token of the new key at the first try, even one that fetched the
    keys an instant before (issue 10, item 20: its refetch guard used to refuse it)."""
    users = demo_users(platform)
    catalog = platform.url_of("catalog")
    async with aiohttp.ClientSession() as s:
        before = await login(s, platform, users["customer"]["email"], users["customer"]["password"])
        old_kid = jwt.get_unverified_header(before["access_token"])["kid"]
        platform.souk("keys", "rotate", timeout=60)
        after = await login(s, platform, users["customer"]["email"], users["customer"]["password"])
        admin = await login(s, platform, users["admin"]["email"], users["admin"]["password"])
        new_kid = jwt.get_unverified_header(after["access_token"])["kid"]
        assert new_kid != old_kid
        assert jwt.get_unverified_header(admin["access_token"])["kid"] == new_kid
        # A rotation right after a verifier fetched the keys: a token of a key nobody published
        # makes the catalog fetch them now, identity rotates again at once, and the new key's
        # first token reaches the catalog well within its one-fetch-a-second guard.
        identity = platform.url_of("identity")
        made_up = TestIssuer(kid="made-up-kid").mint(roles=("admin",))
        status, _, _ = await call(s, "POST", f"{catalog}/v1/admin/products", made_up,
                                  {**NEW_PRODUCT, "sku": "HOM-000001"})
        assert status == 401
        status, _, rotated = await call(s, "POST", f"{identity}/v1/keys/rotate",
                                        admin["access_token"])
        assert status == 200, rotated
        status, _, newest = await call(s, "POST", f"{identity}/v1/login", body={
            "email": users["admin"]["email"], "password": users["admin"]["password"]})
        assert status == 200 and jwt.get_unverified_header(newest["access_token"])["kid"] == (
            rotated["kid"])
        sku = f"HOM-{uuid.uuid4().int % 10**6:06d}"
        status, _, created = await call(s, "POST", f"{catalog}/v1/admin/products",
                                        newest["access_token"], {**NEW_PRODUCT, "sku": sku})
        assert status == 201, created
        for tokens in (after, before):
            status, _, me = await call(s, "GET", f"{platform.gateway}/api/v1/identity/me",
                                       tokens["access_token"])
            assert status == 200, me
        status, _, keys = await call(s, "GET", f"{platform.gateway}/api/v1/identity/jwks")
        assert {old_kid, new_kid} <= {k["kid"] for k in keys["keys"]}


async def test_services_trade_their_credentials_for_service_tokens(platform: Platform) -> None:
    secrets = json.loads((platform.home / "secrets" / "services.json").read_text())
    identity = platform.url_of("identity")
    catalog = platform.url_of("catalog")
    async with aiohttp.ClientSession() as s:
        status, _, granted = await call(s, "POST", f"{identity}/v1/service-tokens",
                                        body={"service": "gateway", "secret": secrets["gateway"]})
        assert status == 200, granted
        claims = jwt.decode(granted["access_token"], options={"verify_signature": False})
        assert (claims["sub"], claims["aud"], claims["svc"]) == (
            "service:gateway", "souk-internal", "gateway")
        status, ctype, _ = await call(s, "POST", f"{identity}/v1/service-tokens",
                                      body={"service": "gateway", "secret": "guessed"})
        assert (status, ctype) == (401, PROBLEM)
        # a genuine service token, but the catalog's price lookup does not admit the gateway
        status, ctype, _ = await call(s, "POST", f"{catalog}/v1/internal/prices",
                                      granted["access_token"], {"skus": ["KIT-0007"]})
        assert (status, ctype) == (403, PROBLEM)
        # and the edge does not expose internal endpoints or the token exchange at all
        status, _, _ = await call(s, "POST", f"{platform.gateway}/api/v1/catalog/internal/prices",
                                  granted["access_token"], {"skus": ["KIT-0007"]})
        assert status == 404
        status, _, _ = await call(s, "POST", f"{platform.gateway}/api/v1/identity/service-tokens",
                                  body={"service": "gateway", "secret": secrets["gateway"]})
        assert status == 404


async def test_the_chassis_service_token_client_gets_and_reuses_a_token(platform: Platform) -> None:
    from chassis.auth import ServiceTokenClient

    secrets = json.loads((platform.home / "secrets" / "services.json").read_text())
    identity = platform.url_of("identity")
    async with aiohttp.ClientSession() as s:
        client = ServiceTokenClient(s, service="catalog", secret=secrets["catalog"],
                                    identity_url=lambda: identity)
        header = await client.authorization()
        token = header["Authorization"].removeprefix("Bearer ")
        assert jwt.decode(token, options={"verify_signature": False})["svc"] == "catalog"
        assert await client.token() == token  # cached until shortly before it expires
        wrong = ServiceTokenClient(s, service="catalog", secret="guessed",
                                   identity_url=lambda: identity)
        with pytest.raises(aiohttp.ClientResponseError) as refused:
            await wrong.token()
        assert refused.value.status == 401


async def test_an_encoded_spelling_meets_the_same_rules_at_the_edge(platform: Platform) -> None:
    async with aiohttp.ClientSession() as s:
        # identity's service-token exchange is never exposed, however it is spelled
        for path in ("/api/v1/identity/service-tokens", "/api/v1/identity/%73ervice-tokens"):
            url = URL(platform.gateway + path, encoded=True)
            async with s.post(url, json={"service": "orders", "secret": "x"}) as resp:
                doc = await resp.json(content_type=None)
                assert (resp.status, doc["type"]) == (
                    404, "https://souk.dev/problems/gateway/no-route"), path
        for path in ("/api/v1/identity/%2e%2e/identity/jwks", "/api/v1/identity/a%2Fb"):
            async with s.get(URL(platform.gateway + path, encoded=True)) as resp:
                assert (resp.status, resp.content_type) == (400, PROBLEM), path
        status, _, jwks = await call(s, "GET", f"{platform.gateway}/api/v1/identity/%6Awks")
        assert status == 200 and jwks["keys"]


async def test_no_answer_through_the_edge_names_an_internal_address(platform: Platform) -> None:
    internal = {p["url"].removeprefix("http://") for p in platform.status()
                if p["service"] != "gateway" and p.get("url")}
    async with aiohttp.ClientSession() as s:
        for method, path in (("POST", "/api/v1/identity/login/"),
                             ("GET", "/api/v1/catalog/products/"),
                             ("GET", "/api/v1/identity/jwks/")):
            async with s.request(method, platform.gateway + path, json={},
                                 allow_redirects=False) as resp:
                text = await resp.text()
                everything = str(dict(resp.headers)) + text
                assert resp.status == 404 and "Location" not in resp.headers, path
            assert not [a for a in internal if a in everything], path
