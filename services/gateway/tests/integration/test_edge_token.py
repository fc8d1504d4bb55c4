"""The gateway's proof for X-Forwarded-For (issue 10, item 5): its own service token goes upstream
in X-Souk-Edge-Token; a client's value for that header never does."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from typing import Any

import msgspec
import pytest

from chassis.testing import serve_app
from chassis.web import App, Router

from .conftest import FakeDiscovery

pytestmark = pytest.mark.integration


class TokenRequest(msgspec.Struct):
    service: str
    secret: str


class TokenReply(msgspec.Struct):
    access_token: str
    expires_in: int


def identity_stand_in() -> App:
    """Identity's service-token exchange, granting the gateway's secret only."""
    router = Router()

    @router.post("/v1/service-tokens")
    async def service_token(body: TokenRequest) -> TokenReply:
        assert (body.service, body.secret) == ("gateway", "gateway-secret")
        return TokenReply("the-gateways-token", 300)

    app = App(title="identity")
    app.include(router)
    return app


async def test_the_gateways_service_token_goes_upstream_and_a_clients_is_dropped(
        start_upstream: Any, start_gateway: Any, client: Any, stack: AsyncExitStack,
        discovery: FakeDiscovery) -> None:
    identity = await stack.enter_async_context(serve_app(identity_stand_in()))
    discovery.add("identity", "identity-1", identity)
    await start_upstream("catalog-1")
    gateway = await start_gateway(service_secret="gateway-secret")
    deadline = time.monotonic() + 10
    seen: list[str] = []
    while time.monotonic() < deadline:  # the first renewal runs as the gateway starts
        async with client.get(f"{gateway}/api/v1/catalog/echo",
                              headers={"X-Souk-Edge-Token": "forged",
                                       "X-Forwarded-For": "203.0.113.9"}) as resp:
            doc = await resp.json()
        seen = [v for k, v in doc["headers"] if k == "x-souk-edge-token"]
        assert "forged" not in seen
        if seen:
            break
    assert seen == ["the-gateways-token"]
    assert [v for k, v in doc["headers"] if k == "x-forwarded-for"] == ["203.0.113.9, 127.0.0.1"]
