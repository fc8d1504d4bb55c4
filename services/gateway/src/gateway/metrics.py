"""The gateway's Prometheus metrics, counted in plain dicts and rendered as text when scraped.

``prometheus_client`` takes a lock and walks label children on every increment; on the edge, where
every request moves three or four series, that was a measurable share of a request's CPU. Here an
increment is a dict update and all formatting waits for ``/metrics``. Names, labels and types are
the ones the dashboards and system tests read: RED per matched route prefix
(``souk_http_requests_total``, ``souk_http_request_duration_seconds``), upstream attempts, retries,
ejections, breaker states, rate-limit and authentication rejections.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable

__all__ = ["UNMATCHED", "GatewayMetrics"]

UNMATCHED = "<unmatched>"
# the chassis' buckets (seconds), so the edge and the services read alike on one dashboard
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LE = (*[repr(b) for b in _BUCKETS], "+Inf")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(pairs))
    return "{" + inner + "}" if inner else ""


def _number(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(float(value))


class _Family:
    """One metric family: counter values (or gauge readers) by label values."""

    def __init__(self, name: str, kind: str, help_text: str, labelnames: tuple[str, ...]) -> None:
        self.name = name
        self.kind = kind
        self.help = help_text
        self.labelnames = labelnames
        self.values: dict[tuple[str, ...], float] = {}
        self.readers: dict[tuple[str, ...], Callable[[], float]] = {}

    def inc(self, *labels: str) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + 1.0

    def zero(self, *labels: str) -> None:
        """The series exists at 0 until its first event: that event is then an increase that
        ``rate()`` and ``increase()`` see (a series born at 1 is read as its starting point)."""
        self.values.setdefault(labels, 0.0)

    def render(self, out: list[str]) -> None:
        suffix = "_total" if self.kind == "counter" else ""
        out.append(f"# HELP {self.name}{suffix} {self.help}")
        out.append(f"# TYPE {self.name}{suffix} {self.kind}")
        series = {**self.values, **{k: f() for k, f in self.readers.items()}}
        if not self.labelnames and not series:
            series[()] = 0.0
        for labels, value in series.items():
            out.append(f"{self.name}{suffix}{_labels(zip(self.labelnames, labels, strict=True))} "
                       f"{_number(value)}")


class GatewayMetrics:
    """Every series the gateway reports; one instance per gateway."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._requests: dict[tuple[str, str, int], int] = {}
        # (method, route) -> [count per bucket..., +Inf bucket, sum]
        self._durations: dict[tuple[str, str], list[float]] = {}
        self.attempts = _Family("souk_gateway_upstream_attempts", "counter",
                                "Upstream attempts by service and outcome "
                                "(response, connect_error, timeout, error)", ("service", "outcome"))
        self.retries = _Family("souk_gateway_retries", "counter",
                               "Upstream retries by service and reason (refused, reset, status, "
                               "budget_exhausted: a retry the budget refused)", ("service", "reason"))
        self.ejections = _Family("souk_gateway_ejections", "counter",
                                 "Instances ejected, by reason (refused, consecutive_5xx)",
                                 ("service", "reason"))
        self.breaker_rejections = _Family("souk_gateway_breaker_rejections", "counter",
                                          "Calls failed fast while a breaker was open",
                                          ("service",))
        self.saturated = _Family("souk_gateway_saturated_rejections", "counter",
                                 "Requests refused with 503 because the service already had "
                                 "its cap of requests outstanding", ("service",))
        self.rate_limited = _Family("souk_gateway_rate_limited", "counter",
                                    "Requests refused with 429, by limit class", ("limit_class",))
        self.rate_limit_storage_errors = _Family(
            "souk_gateway_rate_limit_storage_errors", "counter",
            "Shared rate-limit storage failures (the gateway fell back to local limits)", ())
        self.auth_rejections = _Family("souk_gateway_auth_rejections", "counter",
                                       "Requests refused at the edge, by status", ("status",))
        self.breaker_state = _Family("souk_gateway_breaker_state", "gauge",
                                     "Circuit breaker state per upstream service "
                                     "(0 closed, 1 half-open, 2 open)", ("service",))
        self.ejected_instances = _Family("souk_gateway_ejected_instances", "gauge",
                                         "Upstream instances this gateway currently skips after "
                                         "a refused connection", ())
        self.ejected_instances.readers[()] = self._count_ejected
        self._ejected_until: dict[str, float] = {}

    def zero_series(self, services: Iterable[str], limit_classes: Iterable[str]) -> None:
        """Every labelled counter of the edge at 0 for the services it routes to and the limit
        classes it has, so that the first 429, ejection or failed attempt shows on a graph."""
        for service in services:
            for outcome in ("response", "connect_error", "timeout", "error"):
                self.attempts.zero(service, outcome)
            for reason in ("refused", "reset", "status", "budget_exhausted"):
                self.retries.zero(service, reason)
            for reason in ("refused", "consecutive_5xx"):
                self.ejections.zero(service, reason)
            self.breaker_rejections.zero(service)
            self.saturated.zero(service)
        for limit_class in limit_classes:
            self.rate_limited.zero(limit_class)
        for status in ("401", "403"):
            self.auth_rejections.zero(status)

    # -- hot path --

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """One request served: RED by method, matched route prefix and status."""
        key = (method, route, status)
        requests = self._requests
        requests[key] = requests.get(key, 0) + 1
        cells = self._durations.get((method, route))
        if cells is None:
            cells = self._durations[(method, route)] = [0.0] * (len(_BUCKETS) + 2)
        cells[bisect.bisect_left(_BUCKETS, seconds)] += 1
        cells[-1] += seconds

    def attempt(self, service: str, outcome: str) -> None:
        """Count one upstream attempt."""
        self.attempts.inc(service, outcome)

    # -- rarer events --

    def ejected(self, instance_id: str, seconds: float, *, service: str = "",
                reason: str = "refused") -> None:
        """Record that ``instance_id`` is skipped for ``seconds``."""
        self._ejected_until[instance_id] = time.monotonic() + seconds
        self.ejections.inc(service, reason)

    def breaker(self, service: str, state: Callable[[], float]) -> None:
        """Report a new breaker's state, read when scraped."""
        self.breaker_state.readers[(service,)] = state

    def short_circuited(self, service: str) -> None:
        self.breaker_rejections.inc(service)

    def retry(self, service: str, reason: str) -> None:
        """Count a retry (or, with reason ``budget_exhausted``, one the budget refused)."""
        self.retries.inc(service, reason)

    def _count_ejected(self) -> float:
        now = time.monotonic()
        for instance_id in [i for i, until in self._ejected_until.items() if until <= now]:
            del self._ejected_until[instance_id]
        return float(len(self._ejected_until))

    # -- scrape --

    def render(self) -> bytes:
        """Everything in the Prometheus text exposition format (0.0.4)."""
        service = self.service
        out = ["# HELP souk_http_requests_total HTTP requests served",
               "# TYPE souk_http_requests_total counter"]
        for (method, route, status), served in list(self._requests.items()):
            labels = _labels((("service", service), ("method", method), ("route", route),
                              ("status", str(status))))
            out.append(f"souk_http_requests_total{labels} {_number(served)}")
        out += ["# HELP souk_http_request_duration_seconds HTTP request duration",
                "# TYPE souk_http_request_duration_seconds histogram"]
        for (method, route), cells in list(self._durations.items()):
            base = (("service", service), ("method", method), ("route", route))
            running = 0.0
            for le, count in zip(_LE, cells[:-1], strict=True):
                running += count
                out.append(f"souk_http_request_duration_seconds_bucket"
                           f"{_labels((*base, ('le', le)))} {_number(running)}")
            out.append(f"souk_http_request_duration_seconds_count{_labels(base)} "
                       f"{_number(running)}")
            out.append(f"souk_http_request_duration_seconds_sum{_labels(base)} "
                       f"{_number(cells[-1])}")
        for family in (self.attempts, self.retries, self.ejections, self.breaker_rejections,
                       self.saturated, self.rate_limited, self.rate_limit_storage_errors,
                       self.auth_rejections, self.breaker_state, self.ejected_instances):
            family.render(out)
        out.append("")
        return "\n".join(out).encode()
