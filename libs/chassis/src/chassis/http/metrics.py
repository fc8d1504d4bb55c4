"""Metrics of outgoing service calls, on the service's own registry."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["ClientMetrics"]


class ClientMetrics:
    """``souk_breaker_state{service,upstream}`` (0 closed, 1 half-open, 2 open, read when
    scraped), ``souk_client_calls_total{service,upstream,outcome}`` and
    ``souk_client_retries_total{service,upstream,reason}``."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self._service = service
        self._state = Gauge(
            "souk_breaker_state",
            "Circuit breaker state per upstream service (0 closed, 1 half-open, 2 open)",
            ["service", "upstream"], registry=registry)
        self._calls = Counter(
            "souk_client_calls", "Calls to other services by outcome (ok, status, unavailable, "
            "timeout, circuit_open, bulkhead_full, no_instance, no_identity)",
            ["service", "upstream", "outcome"], registry=registry)
        self._retries = Counter(
            "souk_client_retries", "Retries of calls to other services (refused, reset, timeout, "
            "status, budget_exhausted: one the budget refused)",
            ["service", "upstream", "reason"], registry=registry)
        self._call_children: dict[tuple[str, str], Counter] = {}

    def breaker(self, upstream: str, state: Callable[[], float]) -> None:
        self._state.labels(self._service, upstream).set_function(state)

    def call(self, upstream: str, outcome: str) -> None:
        key = (upstream, outcome)
        child = self._call_children.get(key)
        if child is None:
            child = self._call_children[key] = self._calls.labels(self._service, upstream, outcome)
        child.inc()

    def retry(self, upstream: str, reason: str) -> None:
        self._retries.labels(self._service, upstream, reason).inc()
