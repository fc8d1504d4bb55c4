"""The gateway's live settings: their type, and the proxy taking a new policy in place."""

from __future__ import annotations

import msgspec
import pytest

from gateway.app import resilience
from gateway.metrics import GatewayMetrics
from gateway.proxy import Proxy
from gateway.settings import GatewayLive, GatewaySettings

pytestmark = pytest.mark.unit


def test_live_values_start_from_the_static_settings() -> None:
    from chassis.live import from_static

    static = GatewaySettings(rate_limit="50/second", upstream_timeout=3.0, breaker_min_calls=7)
    live = from_static(GatewayLive, static)
    assert (live.rate_limit, live.upstream_timeout, live.breaker_min_calls) == (
        "50/second", 3.0, 7)


# a limit of 0 a period divided by its rate of 0: every request through the edge was a 500
@pytest.mark.parametrize("value", ["10/fortnight", "lots", "", "5/minute;", "0/minute",
                                   "10/second;0/minute", "5 per 0 seconds"])
def test_a_rate_limit_the_limits_notation_refuses_is_refused(value: str) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"rate_limit": value}, GatewayLive)


def test_counts_past_any_use_are_refused() -> None:
    """A count past 64 bits crashed the store's and the log's encoders (`souk config`)."""
    for name in ("breaker_min_calls", "retry_budget_min"):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({name: 10**20}, GatewayLive)


@pytest.mark.parametrize("origins", [["https://shop.example/"], ["shop.example"], ["*.example"],
                                     ["https://shop.example/app"], ["ftp://shop.example"]])
def test_a_cors_origin_that_is_not_one_is_refused(origins: list[str]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"cors_origins": origins}, GatewayLive)
    assert msgspec.convert({"cors_origins": ["https://shop.example:8443", "*"]},
                           GatewayLive).cors_origins == ("https://shop.example:8443", "*")


def test_the_proxy_takes_a_new_policy_and_keeps_its_breakers_counts() -> None:
    static = GatewaySettings(breaker_window=30, retry_base_delay=0.2)
    proxy = Proxy(None, None, GatewayMetrics("gateway"),  # type: ignore[arg-type]
                  default_timeout=10.0, resilience=resilience(static))
    upstream = proxy.upstream("catalog")
    ticket = upstream.breaker.allow()
    assert ticket is not None
    upstream.breaker.record(ticket, failed=True, seconds=0.1)
    proxy.reconfigure(resilience(static, GatewayLive(
        max_retries=0, breaker_open_seconds=1.0, breaker_failure_ratio=0.9, retry_budget_min=0)))
    assert proxy.max_retries == 0 and proxy.upstream("catalog") is upstream
    assert (upstream.breaker.open_seconds, upstream.breaker.failure_ratio) == (1.0, 0.9)
    assert upstream.breaker.window == 30  # static only
    assert proxy.upstream("orders").breaker.window == 30  # a new one too
    assert proxy.upstream("orders").breaker.open_seconds == 1.0
    assert upstream.budget.min_retries == 0
    assert upstream.breaker._failures == 1  # the window's counts stay
