"""Rate-limit keys and the in-memory limiter, without sockets."""

from __future__ import annotations

import pytest

from gateway.metrics import GatewayMetrics
from gateway.ratelimit import Limit, LocalBuckets, RateLimits, parse_limits, rate_limit_key
from gateway.request import Request
from gateway.routes import Route

pytestmark = pytest.mark.unit

DEFAULT = Route(prefix="/api/v1/orders", service="orders")
LOGIN = Route(prefix="/api/v1/identity/login", service="identity", public=True,
              rate_limit="login")


def scope(user: str | None = None, client: str | None = "10.1.2.3") -> Request:
    found = Request("GET", "/api/v1/x", b"", [], client)
    found.user = user
    return found


def test_an_authenticated_call_counts_against_its_user() -> None:
    assert rate_limit_key(DEFAULT, scope("u-1")) == "u:u-1"
    assert rate_limit_key(DEFAULT, scope("u-1", client="10.9.9.9")) == "u:u-1"


def test_an_anonymous_call_counts_against_its_address() -> None:
    assert rate_limit_key(DEFAULT, scope()) == "a:10.1.2.3"
    assert rate_limit_key(DEFAULT, scope(client=None)) == "a:unknown"


def test_log_in_always_counts_against_the_address() -> None:
    assert rate_limit_key(LOGIN, scope("u-1")) == "a:10.1.2.3"


async def test_refuses_past_the_limit_with_retry_after() -> None:
    limiter = RateLimits({"default": "5/minute", "login": "2/minute"},
                         GatewayMetrics("gateway"))
    assert [await limiter(LOGIN, scope()) for _ in range(2)] == [None, None]
    problem = await limiter(LOGIN, scope())
    assert problem is not None and problem.status == 429
    assert 1 <= int(problem.headers["Retry-After"]) <= 120
    assert problem.headers["RateLimit-Limit"] == "2"
    assert await limiter(LOGIN, scope(client="10.1.2.4")) is None  # someone else
    assert await limiter(DEFAULT, scope()) is None  # another class, another counter


def test_reads_the_limits_notation() -> None:
    assert parse_limits("6000/minute") == (Limit(6000, 60.0),)
    assert parse_limits("10/second;100/minute") == (Limit(10, 1.0), Limit(100, 60.0))


def test_a_bucket_refills_evenly_over_the_period() -> None:
    now = [1000.0]
    buckets = LocalBuckets(clock=lambda: now[0])
    limit = Limit(3, 60.0)  # a token every 20 s
    assert [buckets.take("default", 0, limit, "k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("default", 0, limit, "k") == pytest.approx(20.0)
    now[0] += 10.0
    assert buckets.take("default", 0, limit, "k") == pytest.approx(10.0)
    now[0] += 10.0
    assert buckets.take("default", 0, limit, "k") == 0.0  # one token came back
    assert buckets.take("default", 0, limit, "k") > 0.0
    now[0] += 600.0  # long idle: full again, never more than the amount
    assert [buckets.take("default", 0, limit, "k") for _ in range(4)][-1] > 0.0


def test_idle_full_buckets_are_forgotten() -> None:
    now = [0.0]
    buckets = LocalBuckets(clock=lambda: now[0])
    for n in range(100):
        buckets.take("default", 0, Limit(5, 1.0), f"client-{n}")
    now[0] += 120.0
    buckets.take("default", 0, Limit(5, 1.0), "someone-new")
    assert len(buckets._buckets) == 1
