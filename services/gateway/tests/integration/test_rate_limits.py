"""Rate limits over real sockets: 429 + Retry-After past the limit, stricter on log-in, per user
when authenticated, shared by two gateway instances through Redis, and Redis failing open."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from chassis.testing import free_port

from .conftest import ISSUER

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
REDIS_URL_ENV = "SOUK_TEST_REDIS_URL"


@pytest.fixture
async def start_edge(start_upstream: Any, start_gateway: Any, keys: Any) -> Any:
    """One catalog instance; each call starts a gateway with the standard filters."""
    await start_upstream("catalog-1")

    async def start(**overrides: Any) -> str:
        return str(await start_gateway(filters=None, jwks_url=keys.url, **overrides))

    return start


async def statuses(client: Any, url: str, n: int, **kw: Any) -> list[int]:
    found = []
    for _ in range(n):
        async with client.get(url, **kw) as resp:
            await resp.read()
            found.append(resp.status)
    return found


async def test_past_the_limit_is_429_with_retry_after(start_edge: Any, client: Any) -> None:
    edge = await start_edge(rate_limit="5/minute")
    assert await statuses(client, f"{edge}/api/v1/catalog/echo", 5) == [200] * 5
    async with client.get(f"{edge}/api/v1/catalog/echo") as resp:
        assert resp.status == 429
        assert resp.content_type == PROBLEM
        doc = await resp.json(content_type=PROBLEM)
        assert 1 <= int(resp.headers["Retry-After"]) <= 120
        assert resp.headers["RateLimit-Limit"] == "5"
        assert resp.headers["RateLimit-Remaining"] == "0"
    assert doc["type"] == "https://souk.dev/problems/gateway/rate-limited"
    async with client.get(f"{edge}/metrics") as resp:  # local endpoints are not limited
        assert resp.status == 200
        assert 'souk_gateway_rate_limited_total{limit_class="default"} 1.0' in await resp.text()


async def test_log_in_is_stricter(start_edge: Any, client: Any) -> None:
    edge = await start_edge(rate_limit="50/minute", login_rate_limit="3/minute")
    assert await statuses(client, f"{edge}/api/v1/login", 4) == [200, 200, 200, 429]
    assert await statuses(client, f"{edge}/api/v1/catalog/echo", 3) == [200] * 3


async def test_a_form_counts_its_post_as_a_log_in_and_its_page_as_a_page(
        start_edge: Any, client: Any) -> None:
    """The shop's sign-in: `rate_limit_methods = ["POST"]` puts only the posted form under the
    log-in limit, per address even with a token; the page itself is under the default limit."""
    edge = await start_edge(rate_limit="50/minute", login_rate_limit="2/minute")
    url = f"{edge}/api/v1/signin"
    token = {"Authorization": f"Bearer {ISSUER.mint(sub='alice')}"}

    posted = []
    for headers in ({}, token, {}):  # a token does not buy a log-in budget of its own
        async with client.post(url, data=b"x", headers=headers) as resp:
            await resp.read()
            posted.append(resp.status)

    assert posted == [200, 200, 429]
    assert await statuses(client, url, 5) == [200] * 5
    async with client.get(f"{edge}/metrics") as resp:
        assert 'souk_gateway_rate_limited_total{limit_class="login"} 1.0' in await resp.text()


async def test_authenticated_callers_are_limited_per_user(start_edge: Any, client: Any) -> None:
    edge = await start_edge(rate_limit="3/minute")
    alice = {"Authorization": f"Bearer {ISSUER.mint(sub='alice')}"}
    bob = {"Authorization": f"Bearer {ISSUER.mint(sub='bob')}"}
    url = f"{edge}/api/v1/private/echo"
    assert await statuses(client, url, 4, headers=alice) == [200, 200, 200, 429]
    assert await statuses(client, url, 3, headers=bob) == [200] * 3  # same address, own quota
    assert await statuses(client, f"{edge}/api/v1/catalog/echo", 3) == [200] * 3  # anonymous


def redis_url_or_skip() -> str:
    url = os.environ.get(REDIS_URL_ENV, "")
    if not url:
        pytest.skip(f"{REDIS_URL_ENV} is not set (e.g. redis://127.0.0.1:6379/0): "
                    "the shared limit needs a real Redis")
    return url


async def test_two_gateways_share_the_limit_through_redis(start_edge: Any, client: Any) -> None:
    redis_url = redis_url_or_skip()
    shared = {"rate_limit": "4/minute", "redis_url": redis_url,
              "rate_limit_prefix": f"souk-test-{uuid.uuid4().hex[:12]}"}
    first, second = await start_edge(**shared), await start_edge(**shared)
    seen = []
    for gateway in (first, second, first, second, first, second):
        async with client.get(f"{gateway}/api/v1/catalog/echo") as resp:
            seen.append(resp.status)
    assert seen == [200, 200, 200, 200, 429, 429]


async def test_a_redis_outage_fails_open_to_local_limits(start_edge: Any, client: Any) -> None:
    edge = await start_edge(rate_limit="3/minute",
                            redis_url=f"redis://127.0.0.1:{free_port()}/0")
    # nothing listens there: every call still gets an answer, limited per instance
    assert await statuses(client, f"{edge}/api/v1/catalog/echo", 4) == [200, 200, 200, 429]
    async with client.get(f"{edge}/metrics") as resp:
        text = await resp.text()
    assert "souk_gateway_rate_limit_storage_errors_total 1.0" in text


async def test_a_live_rate_limit_from_the_store_applies_without_a_restart(
        start_edge: Any, client: Any, nats_url: str) -> None:
    """`gateway.rate_limit` in SOUK_CONFIG (chassis.live) replaces the static limit in the
    running gateway; a bad value is refused and the limit in force stays."""
    from chassis.broker import Broker
    from chassis.live import Record
    from chassis.live.store import open_bucket, write
    from chassis.testing.service import eventually

    edge = await start_edge(rate_limit="1000/minute", nats_url=nats_url)
    url = f"{edge}/api/v1/catalog/echo"
    assert await statuses(client, url, 10) == [200] * 10
    broker = Broker(nats_url, name="test")
    await broker.start()
    try:
        await broker.wait_connected(5)
        kv = await open_bucket(broker.jetstream())
        await write(kv, "gateway.rate_limit", Record(value="10/fortnight"))  # refused
        await write(kv, "gateway.rate_limit", Record(value="3/minute"))

        async def limited_at(amount: str) -> bool:
            async with client.get(url) as resp:
                return resp.status == 429 and resp.headers["RateLimit-Limit"] == amount

        await eventually(lambda: limited_at("3"))
        await write(kv, "gateway.rate_limit", Record(value="not a limit"))
        await write(kv, "gateway.rate_limit", Record(unset=True))  # the static limit again
        # the bucket is empty after the 3/minute; it fills at the static rate now
        await eventually(lambda: limited_at("1000"))
    finally:
        await broker.close()
