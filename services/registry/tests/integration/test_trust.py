"""The registry as the root of trust of discovery (issue 10, item 4): only a service that proves
who it is registers, heartbeats or deregisters, so a verifier that takes its signing keys from
the identity the registry lists never takes them from an impostor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from chassis import ServiceSettings
from chassis.auth import InvalidToken, verifier_from_settings
from chassis.discovery import Discovery
from chassis.testing import TestIssuer, serve_app
from chassis.web import App, Media, Response, Router, json_response

from .conftest import as_service, listed

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


@asynccontextmanager
async def keys_server(issuer: TestIssuer) -> AsyncIterator[str]:
    """A process that serves ``issuer``'s keys at identity's path, and answers ready."""
    router = Router()

    @router.get("/v1/jwks", responses={200: Media("application/json", "signing keys")})
    async def jwks() -> Response:
        return json_response(issuer.jwks())

    @router.get("/health/ready", responses={200: Media("application/json", "ready")})
    async def ready() -> Response:
        return json_response({"status": "ready"})

    app = App(title="keys")
    app.include(router)
    async with serve_app(app) as url:
        yield url


async def register(registry_url: str, instance_id: str, service: str, url: str,
                   auth: dict[str, str] | None) -> int:
    async with aiohttp.ClientSession(headers=auth) as http, http.put(
            f"{registry_url}/v1/instances/{instance_id}",
            json={"service": service, "url": url}) as r:
        if r.status >= 400:
            assert r.content_type == PROBLEM
        return r.status


async def test_a_forged_registration_is_refused(registry_url: str,
                                                http: aiohttp.ClientSession) -> None:
    url = "http://127.0.0.1:1"
    assert await register(registry_url, "identity-9", "identity", url, None) == 401
    assert await register(registry_url, "identity-9", "identity", url,
                          as_service("identity", "guessed")) == 401
    # a genuine credential, of another service than the one it claims to register
    assert await register(registry_url, "identity-9", "identity", url,
                          as_service("catalog")) == 403
    assert await listed(http, registry_url, "identity") == []

    assert await register(registry_url, "identity-1", "identity", url,
                          as_service("identity")) == 200
    # the catalog may not take over, keep alive or remove identity's instance (`http` speaks
    # as the catalog)
    assert await register(registry_url, "identity-1", "catalog", "http://127.0.0.1:2",
                          as_service("catalog")) == 403
    async with http.put(f"{registry_url}/v1/instances/identity-1/heartbeat") as r:
        assert r.status == 403
    async with http.delete(f"{registry_url}/v1/instances/identity-1") as r:
        assert r.status == 403
    async with aiohttp.ClientSession() as anonymous, anonymous.delete(
            f"{registry_url}/v1/instances/identity-1") as r:
        assert r.status == 401
    assert [(i["instance_id"], i["url"]) for i in await listed(http, registry_url, "identity")
            ] == [("identity-1", url)]


async def test_a_token_signed_by_a_key_an_impostor_serves_is_rejected(
        registry_url: str, http: aiohttp.ClientSession) -> None:
    genuine, impostor = TestIssuer(), TestIssuer()
    settings = ServiceSettings(service_name="catalog", registry_url=registry_url)
    discovery = Discovery(registry_url, watch_timeout=1)
    await discovery.start()
    try:
        async with keys_server(impostor) as impostor_url, keys_server(genuine) as genuine_url:
            # the impostor tries every way in: no credential, a guessed one, another service's
            for auth in (None, as_service("identity", "guessed"), as_service("catalog")):
                assert await register(registry_url, "identity-6", "identity", impostor_url,
                                      auth) in (401, 403)
            assert await register(registry_url, "identity-1", "identity", genuine_url,
                                  as_service("identity")) == 200
            assert await register(registry_url, "identity-1", "catalog", impostor_url,
                                  as_service("catalog")) == 403
            found = await discovery.wait_for("identity", timeout=5)
            assert [i.url for i in found] == [genuine_url]
            async with aiohttp.ClientSession() as session:
                verifier = verifier_from_settings(settings, session, discovery,
                                                  audiences=["souk"])
                assert verifier is not None
                forged = impostor.mint(sub="mallory", roles=("admin",))
                with pytest.raises(InvalidToken):
                    await verifier.verify(forged)
                claims = await verifier.verify(genuine.mint(sub="ada"))
                assert claims.subject == "ada"
    finally:
        await discovery.close()
