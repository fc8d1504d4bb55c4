"""The tail sampler's metrics as Prometheus series in the app's registry (``GET /metrics``).

    souk_telemetry_spans_received_total            spans accepted from export requests
    souk_telemetry_spans_rejected_total            spans refused (malformed id or time)
    souk_telemetry_traces_kept_total{reason}       error, keep-flag, slow, sampled
    souk_telemetry_traces_dropped_total{reason}    rules (nothing keeps it), rate (over the cap),
                                                   backlog (the store is behind)
    souk_telemetry_late_spans_total{outcome}       after their trace's decision: stored, dropped
    souk_telemetry_traces_lost_total               kept but the store failed
    souk_telemetry_spans_held                      held for a decision or waiting to be stored
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from telemetry.domain.keep import REASONS

__all__ = ["PrometheusTailMetrics"]

DROP_REASONS = ("rules", "rate", "backlog")
LATE_OUTCOMES = ("stored", "dropped")


class PrometheusTailMetrics:
    """``TailMetrics`` on a Prometheus registry; label children are bound once, up front."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._received = Counter("souk_telemetry_spans_received", "Spans accepted from exports",
                                 registry=registry)
        self._rejected = Counter("souk_telemetry_spans_rejected",
                                 "Spans refused (malformed id or time)", registry=registry)
        kept = Counter("souk_telemetry_traces_kept", "Traces kept, by the rule that kept them",
                       ["reason"], registry=registry)
        dropped = Counter("souk_telemetry_traces_dropped",
                          "Traces dropped: no rule keeps them, over the kept-per-second cap, "
                          "or the store is too far behind",
                          ["reason"], registry=registry)
        late = Counter("souk_telemetry_late_spans", "Spans arriving after their trace's decision",
                       ["outcome"], registry=registry)
        self._lost = Counter("souk_telemetry_traces_lost", "Kept traces the store failed to write",
                             registry=registry)
        self._held = Gauge("souk_telemetry_spans_held",
                           "Spans held for a decision or waiting to be stored", registry=registry)
        self._kept = {reason: kept.labels(reason) for reason in REASONS}
        self._dropped = {reason: dropped.labels(reason) for reason in DROP_REASONS}
        self._late = {outcome: late.labels(outcome) for outcome in LATE_OUTCOMES}

    def received(self, spans: int) -> None:
        self._received.inc(spans)

    def rejected(self, spans: int) -> None:
        self._rejected.inc(spans)

    def kept(self, reason: str, traces: int) -> None:
        self._kept[reason].inc(traces)

    def dropped(self, reason: str, traces: int) -> None:
        self._dropped[reason].inc(traces)

    def late(self, outcome: str, spans: int) -> None:
        self._late[outcome].inc(spans)

    def lost(self, traces: int) -> None:
        self._lost.inc(traces)

    def watch_held(self, spans_held: Callable[[], int]) -> None:
        self._held.set_function(spans_held)
