"""Business metrics of payments on the service's Prometheus registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["PrometheusPaymentMetrics"]


class PrometheusPaymentMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._authorizations = Counter(
            "souk_payments_authorizations_total", "Authorizations decided, by outcome",
            ["outcome"], registry=registry)
        self._captures = Counter("souk_payments_captures_total", "Payments captured",
                                 registry=registry)
        self._voids = Counter("souk_payments_voids_total", "Authorizations voided",
                              registry=registry)
        self._refunds = Counter("souk_payments_refunds_total", "Captures refunded",
                                registry=registry)
        self._latency = Histogram(
            "souk_payments_processor_latency_seconds", "Time the card processor took to answer",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30), registry=registry)

    def authorization(self, outcome: str) -> None:
        self._authorizations.labels(outcome).inc()

    def captured(self) -> None:
        self._captures.inc()

    def voided(self) -> None:
        self._voids.inc()

    def refunded(self) -> None:
        self._refunds.inc()

    def processor_latency(self, seconds: float) -> None:
        self._latency.observe(seconds)
