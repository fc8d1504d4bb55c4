"""Prometheus metrics: a registry per app and RED metrics (rate, errors, duration) per route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, Metric

__all__ = ["CONTENT_TYPE_LATEST", "DatabaseMetrics", "HttpMetrics", "render"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    """Request counter and latency histogram labelled by method, route template and status."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.registry = registry
        self.requests = Counter(
            "souk_http_requests", "HTTP requests served", ["service", "method", "route", "status"],
            registry=registry)
        self.duration = Histogram(
            "souk_http_request_duration_seconds", "HTTP request duration",
            ["service", "method", "route"], buckets=_BUCKETS, registry=registry)
        self._service = service
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:  # label lookup is the expensive part; cache the children
            child = (self.requests.labels(self._service, method, route, str(status)),
                     self.duration.labels(self._service, method, route))
            self._children[key] = child
        child[0].inc()
        child[1].observe(seconds)


class DatabaseMetrics:
    """``souk_db_transactions_total``, ``souk_db_statements_total`` and
    ``souk_db_round_trips_total`` of a database adapter's
    ``counts`` (:class:`chassis.db.base.DbCounts`), read when scraped."""

    def __init__(self, counts: Any, service: str, dialect: str) -> None:
        self._counts, self._labels = counts, [service, dialect]

    def collect(self) -> Iterator[Metric]:
        for name, doc, value in (
                ("souk_db_transactions", "units of work run", self._counts.transactions),
                ("souk_db_statements", "SQL statements run inside them", self._counts.statements),
                ("souk_db_round_trips", "requests to the database server awaited",
                 self._counts.round_trips)):
            family = CounterMetricFamily(name, doc, labels=["service", "dialect"])
            family.add_metric(self._labels, value)
            yield family


def render(registry: CollectorRegistry) -> bytes:
    """The registry in Prometheus text exposition format."""
    return bytes(generate_latest(registry))
