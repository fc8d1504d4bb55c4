"""The saga's Prometheus metrics: outcomes and durations, and the business counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from orders.service.ports import SagaMetrics

__all__ = ["PrometheusSagaMetrics"]

_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class PrometheusSagaMetrics(SagaMetrics):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._placed = Counter("souk_orders_placed", "Orders placed (sagas started)",
                               registry=registry)
        self._confirmed = Counter("souk_orders_confirmed", "Orders confirmed", registry=registry)
        self._cancelled = Counter("souk_orders_cancelled", "Orders cancelled, by reason",
                                  ["reason"], registry=registry)
        self._revenue = Counter("souk_revenue_minor", "Confirmed order totals, in minor units",
                                ["currency"], registry=registry)
        self._outcomes = Counter("souk_saga_outcomes", "Checkout sagas finished, by outcome",
                                 ["outcome", "reason"], registry=registry)
        self._duration = Histogram("souk_saga_duration_seconds",
                                   "From placing the order to its final state", ["outcome"],
                                   buckets=_SECONDS, registry=registry)
        self._timeouts = Counter("souk_saga_step_timeouts", "Saga steps past their deadline",
                                 ["step"], registry=registry)
        self._confirmed_by = Counter(
            "souk_saga_confirmed_by_step",
            "Orders confirmed, by the step whose payment reply confirmed them (authorize: "
            "captured on authorization; capture: the two-step flow)", ["step"], registry=registry)
        self._late = Counter(
            "souk_saga_late_payment_replies",
            "Payment replies that came after the saga gave up on them, each voided (refunded)",
            ["reply"], registry=registry)

    def placed(self) -> None:
        self._placed.inc()

    def finished(self, *, confirmed: bool, reason: str, seconds: float, total_minor: int,
                 currency: str) -> None:
        outcome = "confirmed" if confirmed else "cancelled"
        if confirmed:
            self._confirmed.inc()
            self._revenue.labels(currency).inc(total_minor)
        else:
            self._cancelled.labels(reason or "unknown").inc()
        self._outcomes.labels(outcome, "" if confirmed else (reason or "unknown")).inc()
        self._duration.labels(outcome).observe(seconds)

    def timed_out(self, step: str) -> None:
        self._timeouts.labels(step).inc()

    def confirmed_by(self, step: str) -> None:
        self._confirmed_by.labels(step).inc()

    def late_reply(self, kind: str) -> None:
        self._late.labels(kind).inc()
