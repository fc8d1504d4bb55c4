"""RED from two scrapes of Prometheus text: rates over the time between them, 5xx as errors,
latency quantiles from the buckets' growth, probes and scrapes left out, restarts counted from
zero, breaker states read from both gauges."""

from __future__ import annotations

import pytest

from web.domain.red import Breaker, parse_scrape, red_between

pytestmark = pytest.mark.unit


def text(ok: int, failed: int, probes: int, fast: int, slow: int) -> str:
    """``fast`` requests under 5 ms, ``slow`` ones between 50 and 100 ms."""
    total = fast + slow
    return f"""# HELP souk_http_requests_total HTTP requests served
# TYPE souk_http_requests_total counter
souk_http_requests_total{{service="orders",method="GET",route="/v1/o",status="200"}} {ok}
souk_http_requests_total{{service="orders",method="POST",route="/v1/o",status="503"}} {failed}
souk_http_requests_total{{service="orders",method="GET",route="/health/ready",status="200"}} {probes}
souk_http_requests_total{{service="orders",method="GET",route="/metrics",status="200"}} {probes}
# HELP souk_http_request_duration_seconds HTTP request duration
# TYPE souk_http_request_duration_seconds histogram
souk_http_request_duration_seconds_bucket{{service="orders",method="GET",route="/v1/o",le="0.005"}} {fast}
souk_http_request_duration_seconds_bucket{{service="orders",method="GET",route="/v1/o",le="0.05"}} {fast}
souk_http_request_duration_seconds_bucket{{service="orders",method="GET",route="/v1/o",le="0.1"}} {total}
souk_http_request_duration_seconds_bucket{{service="orders",method="GET",route="/v1/o",le="+Inf"}} {total}
souk_http_request_duration_seconds_bucket{{service="orders",method="GET",route="/metrics",le="0.005"}} 0
souk_http_request_duration_seconds_bucket{{service="orders",method="GET",route="/metrics",le="+Inf"}} {probes}
souk_http_request_duration_seconds_count{{service="orders",method="GET",route="/v1/o"}} {total}
souk_http_request_duration_seconds_sum{{service="orders",method="GET",route="/v1/o"}} 1.0
# HELP souk_breaker_state Circuit breaker state per upstream service (0 closed, 1 half-open, 2 open)
# TYPE souk_breaker_state gauge
souk_breaker_state{{service="orders",upstream="cart"}} 2.0
souk_breaker_state{{service="orders",upstream="catalog"}} 0.0
"""


def test_rates_are_the_growth_between_two_scrapes_over_the_time_between_them() -> None:
    before = parse_scrape(text(ok=100, failed=10, probes=50, fast=100, slow=10), at=10.0)
    after = parse_scrape(text(ok=140, failed=30, probes=90, fast=130, slow=30), at=20.0)
    red = red_between([(before, after)])
    assert red is not None
    assert red.rate == pytest.approx((40 + 20) / 10)  # probes and scrapes are not counted
    assert red.error_rate == pytest.approx(2.0)
    assert red.error_ratio == pytest.approx(2.0 / 6.0)
    assert red.window == 10.0
    # 30 fast and 20 slow requests in the window: the median is fast, the 95th slow
    assert red.p50 == 0.005
    assert red.p95 == 0.1


def test_instances_of_a_service_add_up() -> None:
    a0, a1 = (parse_scrape(text(0, 0, 0, 0, 0), 0.0), parse_scrape(text(10, 0, 0, 10, 0), 5.0))
    b0, b1 = (parse_scrape(text(0, 0, 0, 0, 0), 1.0), parse_scrape(text(20, 0, 0, 20, 0), 6.0))
    red = red_between([(a0, a1), (b0, b1)])
    assert red is not None and red.rate == pytest.approx(6.0)


def test_an_instance_that_restarted_counts_from_zero() -> None:
    before = parse_scrape(text(ok=1000, failed=0, probes=0, fast=1000, slow=0), at=0.0)
    after = parse_scrape(text(ok=5, failed=0, probes=0, fast=5, slow=0), at=1.0)
    red = red_between([(before, after)])
    assert red is not None and red.rate == pytest.approx(5.0)


def test_no_window_no_rates_and_no_requests_no_latency() -> None:
    scrape = parse_scrape(text(1, 0, 0, 1, 0), at=3.0)
    assert red_between([]) is None
    assert red_between([(scrape, scrape)]) is None
    later = parse_scrape(text(1, 0, 0, 1, 0), at=4.0)
    red = red_between([(scrape, later)])
    assert red is not None and red.rate == 0 and red.p50 is None and red.error_ratio == 0


def test_breakers_of_service_clients_and_of_the_gateway() -> None:
    gateway = ('# TYPE souk_gateway_breaker_state gauge\n'
               'souk_gateway_breaker_state{service="catalog"} 1\n')
    assert parse_scrape(text(0, 0, 0, 0, 0), 0).breakers == (
        Breaker("orders", "cart", "open"), Breaker("orders", "catalog", "closed"))
    assert parse_scrape(gateway, 0).breakers == (Breaker("gateway", "catalog", "half-open"),)


def test_other_families_are_skipped_and_quoted_labels_read() -> None:
    scrape = parse_scrape(
        '# HELP x anything { at all\n'
        'process_cpu_seconds_total 12.5\n'
        'souk_http_requests_total{route="/v1/a\\"b",status="500",} 3.0 1700000000000\n', 0)
    assert (scrape.requests, scrape.errors) == (3.0, 3.0)


@pytest.mark.parametrize("line", [
    'souk_http_requests_total{route="/x" 5',
    'souk_http_requests_total{route=/x} 5',
    'souk_http_requests_total{route="/x"} five',
])
def test_a_malformed_sample_of_a_family_read_is_refused(line: str) -> None:
    with pytest.raises(ValueError):
        parse_scrape(line + "\n", 0)


def test_long_polls_and_streams_are_not_latency() -> None:
    """The registry's watch answers after up to 10 s of waiting, an order's status stream stays
    open until the order is final: counted, an idle registry read "p95 ≤ 10000 ms"."""
    def scrape(n: int, at: float) -> object:
        return parse_scrape(f"""
souk_http_requests_total{{service="registry",method="GET",route="/v1/watch",status="200"}} {n}
souk_http_requests_total{{service="registry",method="GET",route="/v1/list",status="200"}} {n}
souk_http_requests_total{{service="orders",method="GET",route="/v1/o/{{id}}/events",status="200"}} {n}
souk_http_request_duration_seconds_bucket{{service="registry",method="GET",route="/v1/watch",le="0.005"}} 0
souk_http_request_duration_seconds_bucket{{service="registry",method="GET",route="/v1/watch",le="10"}} {n}
souk_http_request_duration_seconds_bucket{{service="registry",method="GET",route="/v1/watch",le="+Inf"}} {n}
souk_http_request_duration_seconds_bucket{{service="registry",method="GET",route="/v1/list",le="0.005"}} {n}
souk_http_request_duration_seconds_bucket{{service="registry",method="GET",route="/v1/list",le="+Inf"}} {n}
""", at=at)

    red = red_between([(scrape(0, 0.0), scrape(10, 10.0))])  # type: ignore[list-item]

    assert red is not None
    assert red.rate == pytest.approx(1.0)  # the instance reads only
    assert red.p95 == 0.005
