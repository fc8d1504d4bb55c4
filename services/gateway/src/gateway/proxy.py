"""The upstream call: pick an instance, send the request, relay the response — resiliently.

One pooled ``aiohttp.ClientSession`` carries every upstream call (measured here: a pooled aiohttp
proxy does ~8k req/s where httpx does ~0.7k). Failures map to problems, never to a bare 500:

* no healthy instance → 503 ``gateway/no-healthy-instance`` with ``Retry-After: 1``;
* the service's circuit breaker is open → 503 ``gateway/circuit-open`` with ``Retry-After``,
  without calling anything (:mod:`gateway.breaker`);
* connection refused or connect timeout → the request never left, so whatever the method the
  instance is ejected for a while and another one is tried at once;
* a connection reset, or a 502/503/504 answer → tried again (preferably on another instance)
  only for an idempotent method, after a full-jitter backoff, within the service's retry budget
  and the route's deadline (:mod:`gateway.retry`); otherwise a reset is a 502 and a 5xx answer
  is relayed as it is;
* no answer by the route's deadline → 504 ``gateway/upstream-timeout``.

At most ``max_retries`` extra attempts, of any kind. Passive outlier ejection: an instance that
fails ``eject_after_5xx`` times in a row (5xx, reset, timeout) is ejected for ``eject_seconds``.
The deadline travels downstream as ``X-Souk-Deadline`` (absolute, Unix ms).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from yarl import URL

from chassis.discovery import Balancer, Instance
from chassis.logging import get_logger
from chassis.problems import Problem
from chassis.tracing import NO_TRACING, SpanKind, StatusCode, Tracing, inject
from gateway.asgi import Receive, Scope, Send
from gateway.breaker import CircuitBreaker
from gateway.filters import USER
from gateway.headers import upstream_request_headers
from gateway.metrics import GatewayMetrics
from gateway.relay import Rewrite, bad_gateway_problem, relay, timeout_problem
from gateway.retry import IDEMPOTENT_METHODS, RETRYABLE_STATUSES, RetryBudget
from gateway.routes import Route

__all__ = ["DiscoveryLike", "Proxy", "Resilience"]

log = get_logger(__name__)

# a retry that would leave less than this before the deadline is not worth starting
_MIN_ATTEMPT_SECONDS = 0.01


class DiscoveryLike(Protocol):
    """What the gateway needs of :class:`chassis.discovery.Discovery` (tests pass a fake)."""

    registry_reachable: bool

    def instances(self, service: str) -> tuple[Instance, ...]: ...

    def pick(self, service: str, *, exclude: frozenset[str] = ...) -> Instance | None: ...

    def balancer(self, service: str) -> Balancer: ...

    def eject(self, instance_id: str, seconds: float) -> None: ...


@dataclass(frozen=True, slots=True)
class Resilience:
    """How the proxy treats failing upstreams (built from settings by the app)."""

    max_retries: int = 2
    eject_seconds: float = 5.0
    eject_after_5xx: int = 5
    breaker: Callable[[], CircuitBreaker] = CircuitBreaker
    budget: Callable[[], RetryBudget] = RetryBudget
    backoff: Callable[[int], float] = lambda retry: 0.0


@dataclass(slots=True)
class _Upstream:
    breaker: CircuitBreaker
    budget: RetryBudget


class Proxy:
    """Forwards one request to a healthy instance of a route's service."""

    def __init__(self, session: aiohttp.ClientSession, discovery: DiscoveryLike,
                 metrics: GatewayMetrics, *, default_timeout: float, connect_timeout: float,
                 resilience: Resilience, tracing: Tracing = NO_TRACING) -> None:
        self.session = session
        self.tracing = tracing
        self.discovery = discovery
        self.metrics = metrics
        self.default_timeout = default_timeout
        self.connect_timeout = connect_timeout
        self.resilience = resilience
        self.max_retries = resilience.max_retries
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._upstreams: dict[str, _Upstream] = {}
        self._consecutive_failures: dict[str, int] = {}  # instance id -> failures in a row

    def upstream(self, service: str) -> _Upstream:
        """The service's breaker and retry budget (made on first use)."""
        upstream = self._upstreams.get(service)
        if upstream is None:
            upstream = self._upstreams[service] = _Upstream(self.resilience.breaker(),
                                                            self.resilience.budget())
            self.metrics.breaker(service, lambda: float(upstream.breaker.state))
        return upstream

    def _client_timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        # sock_read bounds the wait for the response head and every later silence in the body,
        # without cutting off a long download that keeps flowing
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(
                total=None, sock_connect=self.connect_timeout, sock_read=seconds)
        return timeout

    def _remaining(self, deadline: float) -> aiohttp.ClientTimeout:
        left = max(_MIN_ATTEMPT_SECONDS, deadline - time.monotonic())
        return aiohttp.ClientTimeout(total=None, sock_connect=min(self.connect_timeout, left),
                                     sock_read=left)

    async def forward(self, route: Route, target: str, scope: Scope, receive: Receive,
                      send: Send, request_id: str, body: bytes, *,
                      rewrite: Rewrite | None = None,
                      drop_headers: frozenset[bytes] = frozenset()) -> int:
        """Send the request to ``target`` (path and query) on an instance of ``route.service``
        and relay the answer to the client; return the status sent.

        ``rewrite``, when given, transforms a 200 body (read whole) before it is sent.
        Raises :class:`~chassis.problems.Problem` while nothing has been sent yet.
        """
        if not self.tracing.enabled:
            return await self._forward(route, target, scope, receive, send, request_id, body,
                                       rewrite, drop_headers, None)
        with self.tracing.child_span(f"{scope['method']} {route.service}", kind=SpanKind.CLIENT,
                                     attributes={"http.request.method": scope["method"],
                                                 "server.address": route.service,
                                                 "url.path": target.split("?", 1)[0]}) as span:
            carrier: dict[str, str] = {}
            inject(carrier)
            try:
                status = await self._forward(route, target, scope, receive, send, request_id,
                                             body, rewrite, drop_headers, carrier)
            except Problem as problem:
                span.set_status(StatusCode.ERROR, problem.slug)
                raise
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(StatusCode.ERROR)
            return status

    async def _forward(self, route: Route, target: str, scope: Scope, receive: Receive,
                       send: Send, request_id: str, body: bytes, rewrite: Rewrite | None,
                       drop_headers: frozenset[bytes], trace_headers: dict[str, str] | None) -> int:
        service = route.service
        seconds = route.timeout or self.default_timeout
        deadline = time.monotonic() + seconds
        headers = upstream_request_headers(scope, request_id, int((time.time() + seconds) * 1000),
                                           drop=drop_headers, user=scope.get(USER))
        if trace_headers:
            headers.extend(trace_headers.items())
        method: str = scope["method"]
        idempotent = method in IDEMPOTENT_METHODS
        data = body or None
        upstream = self.upstream(service)
        upstream.budget.request()
        breaker = upstream.breaker
        balancer = self.discovery.balancer(service)
        client_timeout = self._client_timeout(seconds)
        refused: list[str] = []
        failed: list[str] = []
        for attempt in range(1, self.max_retries + 2):
            instance = self._pick(service, refused, failed)
            if instance is None:
                break
            if not breaker.allow():
                self.metrics.short_circuited(service)
                raise _circuit_open(service, breaker.retry_after())
            instance_id = instance.instance_id
            balancer.started(instance_id)
            started = time.monotonic()
            settled = False
            delay: float | None = None
            try:
                try:
                    resp = await self.session.request(
                        method, URL(instance.url + target, encoded=True), headers=headers,
                        data=data, allow_redirects=False, timeout=client_timeout)
                except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                    breaker.record(failed=True, seconds=time.monotonic() - started)
                    settled = True
                    self._refused(service, instance_id, exc, request_id)
                    refused.append(instance_id)
                    continue  # never sent: any method goes elsewhere, at once
                except TimeoutError:
                    breaker.record(failed=True, seconds=time.monotonic() - started)
                    settled = True
                    self.metrics.attempt(service, "timeout")
                    self._outcome(service, instance_id, failed=True)
                    raise timeout_problem(service, seconds) from None
                except aiohttp.ClientError as exc:
                    breaker.record(failed=True, seconds=time.monotonic() - started)
                    settled = True
                    self.metrics.attempt(service, "error")
                    self._outcome(service, instance_id, failed=True)
                    delay = (self._retry_delay(upstream, service, attempt, deadline, "reset")
                             if idempotent else None)
                    if delay is None:
                        raise bad_gateway_problem(service, exc, request_id) from None
                else:
                    status = resp.status
                    breaker.record(failed=status >= 500, seconds=time.monotonic() - started)
                    settled = True
                    self.metrics.attempt(service, "response")
                    self._outcome(service, instance_id, failed=status >= 500)
                    if status in RETRYABLE_STATUSES and idempotent:
                        delay = self._retry_delay(upstream, service, attempt, deadline, "status")
                    if delay is None:
                        return await relay(resp, service, seconds, send, receive, request_id,
                                           rewrite)
                    resp.close()
            finally:
                balancer.finished(instance_id)
                if not settled:
                    breaker.release()
            failed.append(instance_id)
            await asyncio.sleep(delay or 0.0)
            client_timeout = self._remaining(deadline)
        if refused or failed:
            detail = (f"every instance of '{service}' tried refused the connection"
                      if not failed else f"'{service}' failed on every attempt")
            raise Problem(502, "gateway/bad-gateway", detail, service=service,
                          attempts=len(refused) + len(failed))
        raise Problem(503, "gateway/no-healthy-instance",
                      f"no healthy instance of '{service}' is registered",
                      headers={"Retry-After": "1"}, service=service)

    def _pick(self, service: str, refused: list[str], failed: list[str]) -> Instance | None:
        if not refused and not failed:
            return self.discovery.pick(service)
        instance = self.discovery.pick(service, exclude=frozenset(refused + failed))
        if instance is None and failed:  # a retry may go back to an instance that answered
            instance = self.discovery.pick(service, exclude=frozenset(refused))
        return instance

    def _retry_delay(self, upstream: _Upstream, service: str, attempt: int, deadline: float,
                     reason: str) -> float | None:
        """Seconds to wait before retrying, or None when no retry is allowed."""
        if attempt > self.max_retries:
            return None
        delay = self.resilience.backoff(attempt)
        if time.monotonic() + delay + _MIN_ATTEMPT_SECONDS >= deadline:
            return None
        if not upstream.budget.try_retry():
            self.metrics.retry(service, "budget_exhausted")
            return None
        self.metrics.retry(service, reason)
        return delay

    def _outcome(self, service: str, instance_id: str, *, failed: bool) -> None:
        """Passive outlier detection: eject after ``eject_after_5xx`` failures in a row."""
        counts = self._consecutive_failures
        if not failed:
            if counts:
                counts.pop(instance_id, None)
            return
        count = counts.get(instance_id, 0) + 1
        if count < self.resilience.eject_after_5xx:
            counts[instance_id] = count
            return
        counts.pop(instance_id, None)
        seconds = self.resilience.eject_seconds
        self.discovery.eject(instance_id, seconds)
        self.metrics.ejected(instance_id, seconds, service=service, reason="consecutive_5xx")
        log.warning("upstream instance failed repeatedly; ejected", upstream=service,
                    upstream_instance=instance_id, failures=count, seconds=seconds)

    def _refused(self, service: str, instance_id: str, exc: Exception, request_id: str) -> None:
        self.metrics.attempt(service, "connect_error")
        self._consecutive_failures.pop(instance_id, None)
        seconds = self.resilience.eject_seconds
        self.discovery.eject(instance_id, seconds)
        self.metrics.ejected(instance_id, seconds, service=service, reason="refused")
        log.warning("upstream refused the connection; ejected, trying another instance",
                    upstream=service, upstream_instance=instance_id, request_id=request_id,
                    error=str(exc) or type(exc).__name__)


def _circuit_open(service: str, retry_after: float) -> Problem:
    return Problem(503, "gateway/circuit-open",
                   f"'{service}' is failing; calls to it are refused for a while",
                   headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
                   service=service)
