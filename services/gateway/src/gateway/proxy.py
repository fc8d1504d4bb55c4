"""The upstream call: pick an instance, send the request, relay the response — resiliently.

Every upstream call goes over one :class:`chassis.http.h1.H1Pool` (keep-alive connections,
httptools-parsed; a request is one write). Failures map to problems, never to a bare 500:

* no healthy instance → 503 ``gateway/no-healthy-instance`` with ``Retry-After: 1``;
* the service's circuit breaker is open → 503 ``gateway/circuit-open`` with ``Retry-After``,
  without calling anything (:mod:`gateway.breaker`);
* connection refused or connect timeout → the request never left, so whatever the method the
  instance is ejected for a while and another one is tried at once;
* a connection reset, or a 502/503/504 answer → tried again (preferably on another instance)
  only for an idempotent method (or a POST with an ``Idempotency-Key``), after a full-jitter
  backoff, within the service's retry budget
  and the route's deadline (:mod:`gateway.retry`); otherwise a reset is a 502 and a 5xx answer
  is relayed as it is;
* no answer by the route's deadline → 504 ``gateway/upstream-timeout``;
* the service already has ``max_outstanding`` requests outstanding per healthy instance, or as
  many as it had when it last shed a request of the same kind (a read, or not) less than a
  second ago → 503 ``gateway/upstream-saturated`` with ``Retry-After: 1`` at once, nothing
  forwarded (:meth:`Proxy.admit`): a queue at the edge would only turn overload into latency,
  and a refusal here costs a fraction of one forwarded to be refused by the service.

At most ``max_retries`` extra attempts, of any kind. Passive outlier ejection: an instance that
fails ``eject_after_5xx`` times in a row (5xx, reset, timeout) is ejected for ``eject_seconds``.
The deadline travels downstream as ``X-Souk-Deadline`` (absolute, Unix ms).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from chassis.discovery import Balancer, Instance
from chassis.http import ConnectFailed, SendFailed
from chassis.http.h1 import H1Pool, H1Response
from chassis.logging import get_logger
from chassis.problems import Problem
from gateway.breaker import CircuitBreaker
from gateway.call import MIN_ATTEMPT_SECONDS, Call
from gateway.headers import Relocate
from gateway.metrics import GatewayMetrics
from gateway.relay import SMALL_BODY, Rewrite, relay
from gateway.request import ClientGone, Request
from gateway.retry import RetryBudget
from gateway.routes import Route, Router

__all__ = ["DiscoveryLike", "Proxy", "Resilience"]

log = get_logger(__name__)

_READS = frozenset({"GET", "HEAD"})  # the chassis's READ priority by default
SHED_SECONDS = 1.0  # how long a service's refusal stands at the edge


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
    max_outstanding: int = 0  # per healthy instance of a service; 0: no cap


@dataclass(slots=True)
class _Upstream:
    breaker: CircuitBreaker
    budget: RetryBudget
    outstanding: int = 0  # requests admitted and not answered yet (Proxy.admit)
    # per kind (0: GET/HEAD, the services' reads; 1: the rest), learnt from the service's own
    # refusals (Proxy.shed): refuse at this many outstanding until that time (monotonic)
    shed_at: list[int] = field(default_factory=lambda: [0, 0])
    shed_until: list[float] = field(default_factory=lambda: [0.0, 0.0])


@dataclass(frozen=True, slots=True)
class Plan:
    """What every call on one route shares, looked up once per route rather than per call."""

    service: str
    seconds: float  # the route's deadline
    upstream: _Upstream
    breaker: CircuitBreaker
    balancer: Balancer
    relocate: Relocate | None  # the answers' Location, made public



class Proxy:
    """Forwards requests to healthy instances of a route's service: the policy (breaker, retry
    budget, ejection) per service, and the async driver of a :class:`~gateway.call.Call`."""

    def __init__(self, pool: H1Pool, discovery: DiscoveryLike, metrics: GatewayMetrics, *,
                 default_timeout: float, resilience: Resilience,
                 router: Router | None = None) -> None:
        self.pool = pool
        self.router = router
        self.discovery = discovery
        self.metrics = metrics
        self.default_timeout = default_timeout
        self.resilience = resilience
        self.max_retries = resilience.max_retries
        self.max_outstanding = resilience.max_outstanding  # changed at run time: it is read per call
        # the X-Souk-Edge-Token line sent upstream, kept current by gateway.edge_token
        self.edge_line = b""
        self._upstreams: dict[str, _Upstream] = {}
        self.plans: dict[str, Plan] = {}  # by route prefix (Call reads it first)
        # instance id -> failures in a row (read by Call.settle: empty, a success has no work)
        self.failing: dict[str, int] = {}

    def reconfigure(self, resilience: Resilience) -> None:
        """A new policy (live settings): the breaker and retry budget of every upstream take
        its thresholds and keep their counts."""
        self.resilience = resilience
        self.max_retries = resilience.max_retries
        for upstream in self._upstreams.values():
            fresh, breaker = resilience.breaker(), upstream.breaker
            breaker.min_calls = min(fresh.min_calls, breaker.window)
            breaker.failure_ratio, breaker.slow_ratio = fresh.failure_ratio, fresh.slow_ratio
            breaker.slow_seconds, breaker.open_seconds = fresh.slow_seconds, fresh.open_seconds
            breaker.probes = fresh.probes
            budget = resilience.budget()
            upstream.budget.ratio, upstream.budget.min_retries = budget.ratio, budget.min_retries

    def upstream(self, service: str) -> _Upstream:
        """The service's breaker and retry budget (made on first use)."""
        upstream = self._upstreams.get(service)
        if upstream is None:
            upstream = self._upstreams[service] = _Upstream(self.resilience.breaker(),
                                                            self.resilience.budget())
            self.metrics.breaker(service, lambda: float(upstream.breaker.state))
        return upstream

    def plan(self, route: Route) -> Plan:
        """The route's service, deadline, breaker, budget and balancer."""
        plan = self.plans.get(route.prefix)
        if plan is None:
            upstream = self.upstream(route.service)
            plan = self.plans[route.prefix] = Plan(
                route.service, route.timeout or self.default_timeout, upstream, upstream.breaker,
                self.discovery.balancer(route.service),
                functools.partial(self.router.public_location, route)
                if self.router is not None else None)
        return plan

    def admit(self, plan: Plan, method: str) -> _Upstream:
        """Count one more request outstanding to the plan's service (the caller takes one off
        once it is answered), or raise the 503 when the service has its cap already, or is
        known to shed this kind of request at this many outstanding. Counted with no cap too,
        so that a cap set at run time counts what is in flight."""
        cap = self.max_outstanding
        upstream = plan.upstream
        outstanding = upstream.outstanding
        kind = 0 if method in _READS else 1
        if upstream.shed_until[kind] and outstanding >= upstream.shed_at[kind]:
            if time.monotonic() < upstream.shed_until[kind]:
                raise self._saturated(plan.service)
            upstream.shed_until[kind] = 0.0  # a second has passed: ask the service again
        # the instances are counted only past one instance's worth (the cap is per instance)
        if (cap and outstanding >= cap
                and outstanding >= cap * max(1, len(self.discovery.instances(plan.service)))):
            raise self._saturated(plan.service)
        upstream.outstanding = outstanding + 1
        return upstream

    def shed(self, upstream: _Upstream, method: str) -> None:
        """The service refused a request of this kind as overloaded (503 + Retry-After) with
        this one and ``outstanding - 1`` others in flight: refuse that many at the edge for a
        second (the chassis's ``Retry-After``), after which the service is asked again."""
        kind = 0 if method in _READS else 1
        upstream.shed_at[kind] = max(1, upstream.outstanding - 1)
        upstream.shed_until[kind] = time.monotonic() + SHED_SECONDS

    def _saturated(self, service: str) -> Problem:
        self.metrics.saturated.inc(service)
        return Problem(503, "gateway/upstream-saturated",
                       f"'{service}' has as many requests outstanding as it can take; nothing "
                       "was forwarded, try again after Retry-After",
                       headers={"Retry-After": "1"}, service=service)

    async def forward(self, route: Route, target: str, request: Request, request_id: bytes, *,
                      rewrite: Rewrite | None = None, drop_headers: frozenset[bytes] = frozenset(),
                      trace_line: bytes = b"", method: str = "") -> int:
        """Send the request to ``target`` (path and query) on an instance of ``route.service``
        and relay the answer to the client; return the status sent.

        ``rewrite``, when given, transforms a 200 body (read whole) before it is sent;
        ``trace_line`` (the ``traceparent`` header line) goes upstream too; ``method``, when
        given, is sent instead of the request's (a rewrite of a HEAD needs the GET's body).
        Raises :class:`~chassis.problems.Problem` while nothing has been sent yet.
        """
        call = Call(self, route, target, request, request_id, rewrite=rewrite,
                    drop_headers=drop_headers, trace_line=trace_line, method=method)
        return await self.run(call)

    async def run(self, call: Call, *, delay: float = 0.0, picked: bool = False) -> int:
        """Drive ``call`` to its answer: wait ``delay`` first; ``picked`` says its next attempt's
        instance is already chosen."""
        pool, request = self.pool, call.request
        if delay:
            await asyncio.sleep(delay)
        task = asyncio.current_task()

        def hang_up() -> None:
            if task is not None:
                task.cancel()

        while picked or call.more_attempts():
            instance = call.instance if picked else call.pick()
            picked = False
            if instance is None:
                break
            if request.gone:  # nobody to answer: no attempt (a retry after a backoff)
                call.abandon()
                raise ClientGone
            origin = pool.origin(instance.url)
            request.on_disconnect = hang_up  # a client gone before the answer: upstream too
            try:
                response = await pool.request(origin, call.data(origin),
                                              timeout=call.remaining(), read_timeout=call.seconds,
                                              stream_above=SMALL_BODY, head_only=call.head_only)
            except (ConnectFailed, SendFailed, TimeoutError) as exc:
                outcome = call.settle(None, exc)
            except asyncio.CancelledError:
                call.abandon()
                if request.gone and task is not None and task.uncancel() == 0:
                    raise ClientGone from None  # our own cancel: neither a failure nor a retry
                raise
            except BaseException:
                call.abandon()
                raise
            else:
                outcome = call.settle(response, None)
            finally:
                request.on_disconnect = None
            if isinstance(outcome, H1Response):
                return await relay(outcome, call.service, call.seconds, call.request,
                                   call.request_id, call.rewrite, call.relocate)
            if outcome:
                await asyncio.sleep(outcome)
        raise call.exhausted()

    def pick(self, service: str, refused: tuple[str, ...],
             failed: tuple[str, ...]) -> Instance | None:
        """An instance not refused yet, preferring one that has not failed this call."""
        if not refused and not failed:
            return self.discovery.pick(service)
        instance = self.discovery.pick(service, exclude=frozenset(refused + failed))
        if instance is None and failed:  # a retry may go back to an instance that answered
            instance = self.discovery.pick(service, exclude=frozenset(refused))
        return instance

    def retry_delay(self, upstream: _Upstream, service: str, attempt: int, deadline: float,
                     reason: str) -> float | None:
        """Seconds to wait before retrying, or None when no retry is allowed."""
        if attempt > self.max_retries:
            return None
        delay = self.resilience.backoff(attempt)
        if time.monotonic() + delay + MIN_ATTEMPT_SECONDS >= deadline:
            return None
        if not upstream.budget.try_retry():
            self.metrics.retry(service, "budget_exhausted")
            return None
        self.metrics.retry(service, reason)
        return delay

    def outcome(self, service: str, instance_id: str, *, failed: bool) -> None:
        """Passive outlier detection: eject after ``eject_after_5xx`` failures in a row."""
        counts = self.failing
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

    def refused(self, service: str, instance_id: str, exc: BaseException,
                request_id: bytes) -> None:
        """A connection to the instance failed: eject it for a while."""
        self.metrics.attempt(service, "connect_error")
        self.failing.pop(instance_id, None)
        seconds = self.resilience.eject_seconds
        self.discovery.eject(instance_id, seconds)
        self.metrics.ejected(instance_id, seconds, service=service, reason="refused")
        log.warning("upstream refused the connection; ejected, trying another instance",
                    upstream=service, upstream_instance=instance_id, request_id=request_id.decode(),
                    error=str(exc) or type(exc).__name__)
