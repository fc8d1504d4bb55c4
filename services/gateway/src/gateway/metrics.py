"""The gateway's Prometheus metrics: RED per route (the chassis' HttpMetrics) plus upstream health."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge

from chassis.metrics import HttpMetrics

__all__ = ["UNMATCHED", "GatewayMetrics"]

UNMATCHED = "<unmatched>"


class GatewayMetrics:
    """RED metrics labelled by matched route prefix, upstream attempts by service and outcome,
    and how many instances this gateway has ejected right now."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
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

    def attempt(self, service: str, outcome: str) -> None:
        """Count one upstream attempt."""
        key = (service, outcome)
        child = self._attempt_children.get(key)
        if child is None:  # label lookup is the expensive part; cache the children
            child = self._attempt_children[key] = self._attempts.labels(service, outcome)
        child.inc()

    def ejected(self, instance_id: str, seconds: float) -> None:
        """Record that ``instance_id`` is skipped for ``seconds``."""
        self._ejected_until[instance_id] = time.monotonic() + seconds

    def _count_ejected(self) -> float:
        now = time.monotonic()
        for instance_id in [i for i, until in self._ejected_until.items() if until <= now]:
            del self._ejected_until[instance_id]
        return float(len(self._ejected_until))
