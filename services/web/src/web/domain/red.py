"""Rate, errors and duration (RED) of a service, from two scrapes of its instances' Prometheus
text: ``souk_http_requests_total`` (by status) and the ``souk_http_request_duration_seconds``
histogram, both counted since the instance started. Between two scrapes ``dt`` seconds apart,
the rate is the growth of the request count over ``dt``, the error rate that of the 5xx ones, and
the latency quantiles are read from the growth of the histogram's buckets (the upper bound of the
bucket where the quantile falls, as Prometheus' ``histogram_quantile`` does before
interpolating). An instance that restarted between them (a counter went down) counts from zero.
Probes and scrapes themselves (``/health/...``, ``/metrics``) are left out, and so are the
long polls and streams whose time is waiting, not work (the registry's ``/v1/watch``, an order's
``.../events``): a watch answering after 10 s made the registry's p95 read 10 s on an idle
platform. Breaker states come
from ``souk_breaker_state`` (service clients) and ``souk_gateway_breaker_state`` (the gateway)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

__all__ = ["BREAKER_STATES", "Breaker", "Red", "Scrape", "parse_scrape", "red_between"]

REQUESTS = "souk_http_requests"
DURATION = "souk_http_request_duration_seconds"
_IGNORED_ROUTES = ("/metrics", "/health/", "/v1/watch")
_WAITING_ROUTES = ("/events",)  # a stream: open until the order is final
BREAKER_STATES = {0: "closed", 1: "half-open", 2: "open"}
_READ = (REQUESTS + "_total{", DURATION + "_bucket{", "souk_breaker_state{",
         "souk_gateway_breaker_state{")
_SAMPLE = re.compile(r"^([a-z_:]+)\{(.*)\}\s+(\S+)(?:\s+\S+)?$")
_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')


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
    return not route.startswith(_IGNORED_ROUTES) and not route.endswith(_WAITING_ROUTES)


def _samples(text: str) -> Iterator[tuple[str, dict[str, str], float]]:
    """The samples of the families read here, from Prometheus text (only those: parsing every
    family of a dozen instances would cost the page tens of milliseconds)."""
    for line in text.splitlines():
        if not line.startswith(_READ):
            continue
        found = _SAMPLE.match(line)
        if found is None:
            raise ValueError(f"not a Prometheus sample: {line[:100]!r}")
        labels, raw = {}, found[2]
        pos = 0
        while pos < len(raw):
            label = _LABEL.match(raw, pos)
            if label is None:
                raise ValueError(f"bad labels: {line[:100]!r}")
            labels[label[1]] = label[2].replace('\\"', '"').replace("\\\\", "\\")
            pos = label.end()
        yield found[1], labels, float(found[3])


def parse_scrape(text: str, at: float) -> Scrape:
    """One instance's Prometheus text (raises ValueError on a malformed sample of a family
    read here)."""
    requests = errors = 0.0
    buckets: dict[float, float] = {}
    breakers: list[Breaker] = []
    for name, labels, value in _samples(text):
        if name == REQUESTS + "_total" and _counted(labels.get("route", "")):
            requests += value
            if labels.get("status", "").startswith("5"):
                errors += value
        elif name == DURATION + "_bucket" and _counted(labels.get("route", "")):
            bound = float(labels["le"])
            buckets[bound] = buckets.get(bound, 0.0) + value
        elif name == "souk_breaker_state":
            breakers.append(Breaker(labels.get("service", ""), labels.get("upstream", ""),
                                    BREAKER_STATES.get(int(value), "unknown")))
        elif name == "souk_gateway_breaker_state":
            breakers.append(Breaker("gateway", labels.get("service", ""),
                                    BREAKER_STATES.get(int(value), "unknown")))
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
