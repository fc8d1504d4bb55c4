"""The gateway's Prometheus metrics: RED per route (the chassis' HttpMetrics) plus upstream health."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from chassis.metrics import HttpMetrics

__all__ = ["UNMATCHED", "GatewayMetrics"]

UNMATCHED = "<unmatched>"


class GatewayMetrics:
    """RED metrics labelled by matched route prefix, upstream attempts by service and outcome,
    and how many instances this gateway has ejected right now."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.registry = registry
        self.http = HttpMetrics(registry, service)
        self._attempts = Counter(
            "souk_gateway_upstream_attempts",
            "Upstream attempts by service and outcome "
            "(response, connect_error, timeout, error)",
            ["service", "outcome"], registry=registry)
        self._ejected = Gauge(
            "souk_gateway_ejected_instances",
            "Upstream instances this gateway currently skips after a refused connection",
            registry=registry)
        self._ejected.set_function(self._count_ejected)
        self._ejected_until: dict[str, float] = {}
        self._attempt_children: dict[tuple[str, str], Counter] = {}
        self._breaker = Gauge(
            "souk_gateway_breaker_state",
            "Circuit breaker state per upstream service (0 closed, 1 half-open, 2 open)",
            ["service"], registry=registry)
        self._short_circuited = Counter(
            "souk_gateway_breaker_rejections", "Calls failed fast while a breaker was open",
            ["service"], registry=registry)
        self._retries = Counter(
            "souk_gateway_retries", "Upstream retries by service and reason "
            "(refused, reset, status, budget_exhausted: a retry the budget refused)",
            ["service", "reason"], registry=registry)
        self._ejections = Counter(
            "souk_gateway_ejections", "Instances ejected, by reason (refused, consecutive_5xx)",
            ["service", "reason"], registry=registry)
        self.rate_limited = Counter(
            "souk_gateway_rate_limited", "Requests refused with 429, by limit class",
            ["limit_class"], registry=registry)
        self.rate_limit_storage_errors = Counter(
            "souk_gateway_rate_limit_storage_errors",
            "Shared rate-limit storage failures (the gateway fell back to local limits)",
            registry=registry)
        self.auth_rejections = Counter(
            "souk_gateway_auth_rejections", "Requests refused at the edge, by status",
            ["status"], registry=registry)

    def attempt(self, service: str, outcome: str) -> None:
        """Count one upstream attempt."""
        key = (service, outcome)
        child = self._attempt_children.get(key)
        if child is None:  # label lookup is the expensive part; cache the children
            child = self._attempt_children[key] = self._attempts.labels(service, outcome)
        child.inc()

    def ejected(self, instance_id: str, seconds: float, *, service: str = "",
                reason: str = "refused") -> None:
        """Record that ``instance_id`` is skipped for ``seconds``."""
        self._ejected_until[instance_id] = time.monotonic() + seconds
        self._ejections.labels(service, reason).inc()

    def breaker(self, service: str, state: Callable[[], float]) -> None:
        """Report a new breaker's state, read when scraped."""
        self._breaker.labels(service).set_function(state)

    def short_circuited(self, service: str) -> None:
        self._short_circuited.labels(service).inc()

    def retry(self, service: str, reason: str) -> None:
        """Count a retry (or, with reason ``budget_exhausted``, one the budget refused)."""
        self._retries.labels(service, reason).inc()

    def _count_ejected(self) -> float:
        now = time.monotonic()
        for instance_id in [i for i, until in self._ejected_until.items() if until <= now]:
            del self._ejected_until[instance_id]
        return float(len(self._ejected_until))
