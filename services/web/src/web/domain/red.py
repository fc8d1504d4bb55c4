"""Rate, errors and duration (RED) of a service, from two scrapes of its instances' Prometheus
text: ``souk_http_requests_total`` (by status) and the ``souk_http_request_duration_seconds``
histogram, both counted since the instance started. Between two scrapes ``dt`` seconds apart,
the rate is the growth of the request count over ``dt``, the error rate that of the 5xx ones, and
the latency quantiles are read from the growth of the histogram's buckets (the upper bound of the
bucket where the quantile falls, as Prometheus' ``histogram_quantile`` does before
interpolating). An instance that restarted between them (a counter went down) counts from zero.
Probes and scrapes themselves (``/health/...``, ``/metrics``) are left out. Breaker states come
from ``souk_breaker_state`` (service clients) and ``souk_gateway_breaker_state`` (the gateway)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["BREAKER_STATES", "Breaker", "Red", "Scrape", "parse_scrape", "red_between"]

REQUESTS = "souk_http_requests"
DURATION = "souk_http_request_duration_seconds"
_IGNORED_ROUTES = ("/metrics", "/health/")
BREAKER_STATES = {0: "closed", 1: "half-open", 2: "open"}


@dataclass(frozen=True, slots=True)
class Breaker:
    owner: str  # the service whose client (or gateway) holds it
    upstream: str
    state: str


@dataclass(frozen=True, slots=True)
class Scrape:
    """What one instance's ``/metrics`` said at ``at`` (monotonic seconds)."""

    at: float
    requests: float = 0.0
    errors: float = 0.0  # 5xx answers
    buckets: Mapping[float, float] = field(default_factory=dict)  # upper bound -> cumulative
    breakers: tuple[Breaker, ...] = ()


@dataclass(frozen=True, slots=True)
class Red:
    """A service's requests per second, 5xx per second and latency quantiles (seconds, None
    when no request was served in the window) over ``window`` seconds."""

    rate: float
    error_rate: float
    p50: float | None
    p95: float | None
    window: float

    @property
    def error_ratio(self) -> float:
        return self.error_rate / self.rate if self.rate else 0.0


def _counted(route: str) -> bool:
    return not route.startswith(_IGNORED_ROUTES)


def parse_scrape(text: str, at: float) -> Scrape:
    """One instance's Prometheus text (raises ValueError when it is not that)."""
    requests = errors = 0.0
    buckets: dict[float, float] = {}
    breakers: list[Breaker] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == REQUESTS + "_total" and _counted(labels.get("route", "")):
                requests += sample.value
                if labels.get("status", "").startswith("5"):
                    errors += sample.value
            elif sample.name == DURATION + "_bucket" and _counted(labels.get("route", "")):
                bound = float(labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
            elif sample.name == "souk_breaker_state":
                breakers.append(Breaker(labels.get("service", ""), labels.get("upstream", ""),
                                        BREAKER_STATES.get(int(sample.value), "unknown")))
            elif sample.name == "souk_gateway_breaker_state":
                breakers.append(Breaker("gateway", labels.get("service", ""),
                                        BREAKER_STATES.get(int(sample.value), "unknown")))
    return Scrape(at, requests, errors, buckets, tuple(breakers))


def _growth(new: float, old: float) -> float:
    return new if new < old else new - old  # a counter that went down: the instance restarted


def _quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    for bound in bounds:
        if buckets[bound] >= rank:
            return bound if not math.isinf(bound) else bounds[-2] if len(bounds) > 1 else None
    return None


def red_between(pairs: Iterable[tuple[Scrape, Scrape]]) -> Red | None:
    """RED of a service from (earlier, later) scrapes of each of its instances; None when no
    pair spans any time."""
    rate = errors = window = 0.0
    grown: dict[float, float] = {}
    spans = 0
    for old, new in pairs:
        dt = new.at - old.at
        if dt <= 0:
            continue
        spans += 1
        window = max(window, dt)
        restarted = new.requests < old.requests
        rate += (new.requests if restarted else new.requests - old.requests) / dt
        errors += (new.errors if restarted else _growth(new.errors, old.errors)) / dt
        for bound, count in new.buckets.items():
            before = 0.0 if restarted else old.buckets.get(bound, 0.0)
            grown[bound] = grown.get(bound, 0.0) + _growth(count, before)
    if not spans:
        return None
    return Red(rate, errors, _quantile(0.5, grown), _quantile(0.95, grown), window)
