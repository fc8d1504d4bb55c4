"""Rate-limit keys and the in-memory limiter, without sockets."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from gateway.filters import USER
from gateway.metrics import GatewayMetrics
from gateway.ratelimit import RateLimits, rate_limit_key
from gateway.routes import Route

pytestmark = pytest.mark.unit

DEFAULT = Route(prefix="/api/v1/orders", service="orders")
LOGIN = Route(prefix="/api/v1/identity/login", service="identity", public=True,
              rate_limit="login")


def scope(user: str | None = None, client: str = "10.1.2.3") -> dict[str, Any]:
    found: dict[str, Any] = {"type": "http", "client": (client, 5000), "headers": []}
    if user is not None:
        found[USER] = user
    return found


def test_an_authenticated_call_counts_against_its_user() -> None:
    assert rate_limit_key(DEFAULT, scope("u-1")) == "u:u-1"
    assert rate_limit_key(DEFAULT, scope("u-1", client="10.9.9.9")) == "u:u-1"


def test_an_anonymous_call_counts_against_its_address() -> None:
    assert rate_limit_key(DEFAULT, scope()) == "a:10.1.2.3"
    assert rate_limit_key(DEFAULT, {"type": "http", "headers": []}) == "a:unknown"


def test_log_in_always_counts_against_the_address() -> None:
    assert rate_limit_key(LOGIN, scope("u-1")) == "a:10.1.2.3"


async def test_refuses_past_the_limit_with_retry_after() -> None:
    limiter = RateLimits({"default": "5/minute", "login": "2/minute"},
                         GatewayMetrics(CollectorRegistry(), "gateway"))
    assert [await limiter(LOGIN, scope()) for _ in range(2)] == [None, None]
    problem = await limiter(LOGIN, scope())
    assert problem is not None and problem.status == 429
    assert 1 <= int(problem.headers["Retry-After"]) <= 120
    assert problem.headers["RateLimit-Limit"] == "2"
    assert await limiter(LOGIN, scope(client="10.1.2.4")) is None  # someone else
    assert await limiter(DEFAULT, scope()) is None  # another class, another counter
