"""The gateway's metrics: plain counters rendered as Prometheus text with the names, labels and
types the dashboards and system tests read."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import GatewayMetrics

pytestmark = pytest.mark.unit


def samples(metrics: GatewayMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(metrics.render().decode())
            for s in family.samples}


def test_red_per_route_with_a_histogram() -> None:
    metrics = GatewayMetrics("gateway")
    for seconds in (0.0005, 0.003, 0.003, 20.0):
        metrics.observe("GET", "/api/v1/catalog", 200, seconds)
    metrics.observe("GET", "<unmatched>", 404, 0.0001)
    found = samples(metrics)
    base = {("service", "gateway"), ("method", "GET"), ("route", "/api/v1/catalog")}
    assert found[("souk_http_requests_total", frozenset({*base, ("status", "200")}))] == 4
    assert found[("souk_http_request_duration_seconds_count", frozenset(base))] == 4
    assert found[("souk_http_request_duration_seconds_sum", frozenset(base))] == \
        pytest.approx(20.0065)
    bucket = "souk_http_request_duration_seconds_bucket"
    assert found[(bucket, frozenset({*base, ("le", "0.001")}))] == 1
    assert found[(bucket, frozenset({*base, ("le", "0.005")}))] == 3
    assert found[(bucket, frozenset({*base, ("le", "10.0")}))] == 3
    assert found[(bucket, frozenset({*base, ("le", "+Inf")}))] == 4
    text = metrics.render().decode()
    assert ('souk_http_requests_total{method="GET",route="<unmatched>",service="gateway",'
            'status="404"} 1.0') in text


def test_edge_counters_and_gauges() -> None:
    metrics = GatewayMetrics("gateway")
    metrics.attempt("orders", "response")
    metrics.rate_limited.inc("login")
    metrics.auth_rejections.inc("401")
    metrics.breaker("orders", lambda: 2.0)
    metrics.ejected("orders-1", 30.0, service="orders", reason="refused")
    text = metrics.render().decode()
    for line in ('souk_gateway_upstream_attempts_total{outcome="response",service="orders"} 1.0',
                 'souk_gateway_rate_limited_total{limit_class="login"} 1.0',
                 'souk_gateway_auth_rejections_total{status="401"} 1.0',
                 'souk_gateway_breaker_state{service="orders"} 2.0',
                 'souk_gateway_ejections_total{reason="refused",service="orders"} 1.0',
                 "souk_gateway_ejected_instances 1.0",
                 "souk_gateway_rate_limit_storage_errors_total 0.0"):
        assert line in text
    assert "# TYPE souk_gateway_breaker_state gauge" in text
    samples(metrics)  # the whole text parses


def test_label_values_are_escaped() -> None:
    metrics = GatewayMetrics("gateway")
    metrics.observe("GET", 'a"b\\c\nd', 200, 0.01)
    assert samples(metrics)  # parses
    assert 'route="a\\"b\\\\c\\nd"' in metrics.render().decode()


def test_the_edges_labelled_counters_start_at_zero() -> None:
    """A series born at its first event is read by rate() and increase() as its own starting
    point: the first 429 or refused attempt showed nowhere on the dashboard."""
    metrics = GatewayMetrics("gateway")
    metrics.zero_series(["catalog"], ("default", "login"))
    found = samples(metrics)
    assert found[("souk_gateway_rate_limited_total", frozenset({("limit_class", "login")}))] == 0
    assert found[("souk_gateway_upstream_attempts_total",
                  frozenset({("service", "catalog"), ("outcome", "connect_error")}))] == 0
    assert found[("souk_gateway_ejections_total",
                  frozenset({("service", "catalog"), ("reason", "refused")}))] == 0
    metrics.rate_limited.inc("login")
    assert samples(metrics)[("souk_gateway_rate_limited_total",
                             frozenset({("limit_class", "login")}))] == 1
