"""Identity and the zero-trust edge, end to end through the gateway of a running platform."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp
import jwt
import pytest

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
        status, _, created = await call(s, "POST", url, admin["access_token"],
                                        {**NEW_PRODUCT, "sku": sku})
        assert status == 201, created
        # the catalog verifies the token itself: straight to an instance, no gateway in between
        direct = next(p["url"] for p in platform.status() if p["service"] == "catalog")
        status, ctype, _ = await call(s, "POST", f"{direct}/v1/admin/products",
                                      customer["access_token"], {**NEW_PRODUCT, "sku": sku + "1"})
        assert (status, ctype) == (403, PROBLEM)
        status, ctype, _ = await call(s, "POST", f"{direct}/v1/admin/products", None,
                                      {**NEW_PRODUCT, "sku": sku + "1"})
        assert (status, ctype) == (401, PROBLEM)


async def test_key_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(
        platform: Platform) -> None:
    users = demo_users(platform)
    async with aiohttp.ClientSession() as s:
        before = await login(s, platform, users["customer"]["email"], users["customer"]["password"])
        old_kid = jwt.get_unverified_header(before["access_token"])["kid"]
        platform.souk("keys", "rotate", timeout=60)
        after = await login(s, platform, users["customer"]["email"], users["customer"]["password"])
        new_kid = jwt.get_unverified_header(after["access_token"])["kid"]
        assert new_kid != old_kid
        for tokens in (after, before):
            status, _, me = await call(s, "GET", f"{platform.gateway}/api/v1/identity/me",
                                       tokens["access_token"])
            assert status == 200, me
        status, _, keys = await call(s, "GET", f"{platform.gateway}/api/v1/identity/jwks")
        assert {old_kid, new_kid} <= {k["kid"] for k in keys["keys"]}


async def test_services_trade_their_credentials_for_service_tokens(platform: Platform) -> None:
    secrets = json.loads((platform.home / "secrets" / "services.json").read_text())
    identity = next(p["url"] for p in platform.status() if p["service"] == "identity")
    catalog = next(p["url"] for p in platform.status() if p["service"] == "catalog")
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
    identity = next(p["url"] for p in platform.status() if p["service"] == "identity")
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
