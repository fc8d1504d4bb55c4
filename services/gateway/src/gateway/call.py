"""One proxied request across its attempts: what is sent, and what each outcome means.

The decisions live here, apart from how the attempts are driven, so that the two drivers — the
callback fast path of :class:`gateway.app.Gateway` (the first attempt on an idle pooled
connection, no task, no coroutine) and the async loop of :meth:`gateway.proxy.Proxy.run` (new
connections, retries, backoff, streamed bodies) — apply one policy.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from chassis import clock
from chassis.discovery import Instance
from chassis.http import ConnectFailed
from chassis.http.breaker import waited_on_purpose
from chassis.http.h1 import H1Response, Origin
from chassis.problems import Problem
from gateway.headers import TRACE_KEPT, upstream_request_block
from gateway.relay import Rewrite, bad_gateway_problem, timeout_problem
from gateway.request import Request
from gateway.retry import IDEMPOTENT_METHODS, retryable, sheds
from gateway.routes import Route

if TYPE_CHECKING:
    from gateway.proxy import Plan, Proxy

__all__ = ["Call"]

# methods whose requests carry no body unless they have one (others always say how long it is)
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
# a retry that would leave less than this before the deadline is not worth starting
MIN_ATTEMPT_SECONDS = 0.01
_IDEMPOTENCY_KEY = b"idempotency-key"


def _retryable(request: Request) -> bool:
    """Whether the request may be sent again once it may have reached the upstream: an
    idempotent method, or a POST carrying an ``Idempotency-Key`` (the service answers a repeat
    with the first one's result, so a retry cannot place a second order)."""
    method = request.method
    if method in IDEMPOTENT_METHODS:
        return True
    return method == "POST" and any(name == _IDEMPOTENCY_KEY and value.strip()
                                    for name, value in request.headers)


class Call:
    """The request as the upstream gets it (built once: only the Host line differs between
    instances) and the state of its attempts."""

    __slots__ = ("attempt", "balancer", "breaker", "deadline", "failed", "head_only",
                 "instance", "line", "proxy", "refused", "relocate", "request",
                 "request_id", "rewrite", "seconds", "service", "started", "tail", "ticket",
                 "traced", "upstream")

    def __init__(self, proxy: Proxy, route: Route, target: str, request: Request,
                 request_id: bytes, *, rewrite: Rewrite | None = None,
                 drop_headers: frozenset[bytes] = frozenset(),
                 trace_line: bytes = b"", plan: Plan | None = None, method: str = "") -> None:
        self.proxy = proxy
        if plan is None:
            plan = proxy.plans.get(route.prefix) or proxy.plan(route)
        self.service = plan.service
        self.seconds = seconds = plan.seconds
        self.upstream = plan.upstream
        self.breaker = plan.breaker
        self.balancer = plan.balancer
        self.relocate = plan.relocate
        self.deadline = time.monotonic() + seconds
        self.request = request
        self.request_id = request_id
        self.rewrite = rewrite
        # rounded up: a deadline must never look earlier downstream than it is
        block = upstream_request_block(request, request_id,
                                       math.ceil((clock.time() + seconds) * 1000),
                                       drop=drop_headers, user=request.user)
        self.traced = bool(trace_line)  # the trace context goes upstream
        method = method or request.method  # another only for a document's HEAD: a GET
        body = request.body
        self.line = f"{method} {target} HTTP/1.1\r\n".encode("latin-1")
        if body or method not in _BODYLESS:
            self.tail = b"".join((block, trace_line, proxy.edge_line,
                                  b"content-length: %d\r\n\r\n" % len(body), body))
        else:
            self.tail = b"".join((block, trace_line, proxy.edge_line, b"\r\n"))
        self.head_only = method == "HEAD"
        plan.upstream.budget.request()
        self.refused: tuple[str, ...] = ()  # instances that refused the connection
        self.failed: tuple[str, ...] = ()  # instances that failed an attempt
        self.attempt = 0
        self.instance: Instance | None = None  # of the attempt in flight
        self.started = 0.0
        self.ticket = 0  # the breaker's, for the attempt in flight

    def data(self, origin: Origin) -> bytes:
        """The whole request for an instance at ``origin``."""
        return self.line + origin.host_line + self.tail

    def more_attempts(self) -> bool:
        return self.attempt <= self.proxy.max_retries

    def remaining(self) -> float:
        """Seconds left before the deadline (at least a sliver)."""
        return max(MIN_ATTEMPT_SECONDS, self.deadline - time.monotonic())

    def pick(self) -> Instance | None:
        """The instance of the next attempt (counted, and in flight from now on), or None when
        none is left; :class:`~chassis.problems.Problem` when the breaker refuses calls."""
        proxy = self.proxy
        # the first attempt: the plan's balancer over the service's healthy instances
        instance = (self.balancer.pick(proxy.discovery.instances(self.service))
                    if not self.refused and not self.failed
                    else proxy.pick(self.service, self.refused, self.failed))
        if instance is None:
            return None
        ticket = self.breaker.allow()
        if ticket is None:
            proxy.metrics.short_circuited(self.service)
            raise _circuit_open(self.service, self.breaker.retry_after())
        self.ticket = ticket
        self.attempt += 1
        self.instance = instance
        self.balancer.started(instance.instance_id)
        self.started = time.monotonic()
        return instance

    def settle(self, response: H1Response | None,
               error: BaseException | None) -> H1Response | float:
        """Record the outcome of the attempt in flight; return the response to relay, or the
        seconds to wait before the next attempt. Raises the final
        :class:`~chassis.problems.Problem` when the call failed for good."""
        instance = self.instance
        assert instance is not None
        self.instance = None
        instance_id = instance.instance_id
        proxy, service = self.proxy, self.service
        self.balancer.finished(instance_id)
        elapsed = time.monotonic() - self.started
        if response is not None:
            status = response.status
            # the common answer, and a 5xx of a healthy service whose own upstream failed
            # (Proxy-Status, RFC 9209; the chassis says so): nothing to shed, eject or retry
            # (another instance would meet the same failure), its other routes stay served
            if status < 500 or response.header(b"proxy-status") is not None:
                if elapsed >= self.breaker.slow_seconds and waited_on_purpose(
                        response.header(b"preference-applied")):
                    elapsed = 0.0  # a long poll (`Prefer: wait`): its time is the caller's wait
                self.breaker.record(self.ticket, failed=False, seconds=elapsed)
                proxy.metrics.attempts.inc(service, "response")
                if proxy.failing:
                    proxy.outcome(service, instance_id, failed=False)
                if self.traced and TRACE_KEPT in response.headers:
                    self.request.trace_kept = True
                return response
            # a 503 with Retry-After is an instance shedding load (RFC 9110 §15.6.4): healthy,
            # only busy — no failure for its breaker or ejection, and never retried at once
            retry_after = response.header(b"retry-after") is not None
            shed = sheds(status, retry_after)
            failed = status >= 500 and not shed
            self.breaker.record(self.ticket, failed=failed, seconds=elapsed)
            proxy.metrics.attempts.inc(service, "response")
            if failed or proxy.failing:  # passive outlier detection, only when it has work
                proxy.outcome(service, instance_id, failed=failed)
            if shed:  # refuse the like of it at the edge for a while
                proxy.shed(self.upstream, self.request.method)
            if retryable(status, retry_after) and _retryable(self.request):
                delay = proxy.retry_delay(self.upstream, service, self.attempt, self.deadline,
                                          "status")
                if delay is not None:
                    response.close()
                    self.failed += (instance_id,)
                    return delay
            if self.traced and TRACE_KEPT in response.headers:
                self.request.trace_kept = True
            return response
        self.breaker.record(self.ticket, failed=True, seconds=elapsed)
        if isinstance(error, ConnectFailed):  # never sent: any method goes elsewhere, at once
            proxy.refused(service, instance_id, error, self.request_id)
            self.refused += (instance_id,)
            return 0.0
        failed_error = error if isinstance(error, Exception) else RuntimeError(str(error))
        proxy.outcome(service, instance_id, failed=True)
        if isinstance(error, TimeoutError):
            proxy.metrics.attempt(service, "timeout")
            raise timeout_problem(service, self.seconds)
        proxy.metrics.attempt(service, "error")
        delay = (proxy.retry_delay(self.upstream, service, self.attempt, self.deadline, "reset")
                 if _retryable(self.request) else None)
        if delay is None:
            raise bad_gateway_problem(service, failed_error)
        self.failed += (instance_id,)
        return delay

    def abandon(self) -> None:
        """The attempt in flight ends without an outcome (cancelled): release its slots."""
        instance, self.instance = self.instance, None
        if instance is not None:
            self.balancer.finished(instance.instance_id)
            self.breaker.release(self.ticket)

    def exhausted(self) -> Problem:
        """The problem once no attempt is left."""
        if self.refused or self.failed:
            detail = (f"every instance of '{self.service}' tried refused the connection"
                      if not self.failed else f"'{self.service}' failed on every attempt")
            return Problem(502, "gateway/bad-gateway", detail, service=self.service,
                           attempts=len(self.refused) + len(self.failed))
        return Problem(503, "gateway/no-healthy-instance",
                       f"no healthy instance of '{self.service}' is registered",
                       headers={"Retry-After": "1"}, service=self.service)


def _circuit_open(service: str, retry_after: float) -> Problem:
    return Problem(503, "gateway/circuit-open",
                   f"'{service}' is failing; calls to it are refused for a while",
                   headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
                   service=service)
