"""Calls to another service by name, resiliently.

``await client.post("catalog", "/v1/internal/prices", json={...}, idempotent=True)``:

* **discovery** — an instance is picked from the directory (the registry's cached view, or fixed
  URLs); a refused connection ejects that instance for a while and the call goes to another at
  once, whatever the method (nothing was sent);
* **deadline** — each attempt has its own timeout, capped to what is left of the whole call's
  deadline (the policy's, or less when the caller passes the deadline it was itself given — by
  default that of the request being handled, :data:`~chassis.http.deadline.current_deadline`);
  a call whose deadline has passed is not sent; it travels downstream as ``X-Souk-Deadline``;
* **retries** — a reset, a timeout or a 502/503/504 is tried again only for an idempotent call
  (GET/HEAD/PUT/DELETE, or ``idempotent=True``), after a full-jitter backoff, within the
  upstream's retry budget and the deadline; never a 503 with ``Retry-After`` (an overloaded
  upstream shedding load), so retries cannot amplify a storm;
* **circuit breaker** per upstream: while open, calls fail fast with :class:`CircuitOpen`;
* **bulkhead** per upstream: past ``max_in_flight`` calls in flight, :class:`BulkheadFull` at once;
* **identity** — the service token's ``Authorization`` header on every call.

A 2xx answer is returned; any other status raises :class:`UpstreamError` with the problem
document; failures to get an answer raise :class:`UpstreamUnavailable` (or one of its kinds).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from prometheus_client import CollectorRegistry

from chassis import clock
from chassis.discovery import Instance
from chassis.http.breaker import CircuitBreaker, waited_on_purpose
from chassis.http.bulkhead import Bulkhead
from chassis.http.deadline import DEADLINE_HEADER, current_deadline, deadline_header_value
from chassis.http.directory import Directory, StaticDirectory
from chassis.http.errors import (
    BulkheadFull,
    CircuitOpen,
    NoHealthyInstance,
    ServiceCallError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    for_another,
)
from chassis.http.metrics import ClientMetrics
from chassis.http.retry import IDEMPOTENT_METHODS, RetryBudget, backoff, retryable, sheds
from chassis.http.transport import ConnectFailed, RawResponse, SendFailed, Transport
from chassis.logging import get_logger, request_id_var
from chassis.tracing import NO_TRACING, Tracing, current_span, inject

__all__ = ["ClientPolicy", "IdentityUnavailable", "ServiceClient", "ServiceResponse",
           "TokenSource"]

log = get_logger(__name__)

# an attempt that would get less than this before the deadline is not worth starting
_MIN_ATTEMPT_SECONDS = 0.005
# a header name, not a secret: chassis.web.auth reads it (chassis.http imports nothing of web)
_EDGE_TOKEN_HEADER = "X-Souk-Edge-Token"  # noqa: S105
_MAX_PINNED_WALK = 256  # instances of one upstream looked at to find a pinned one


class TokenSource(Protocol):
    """This service's identity (:class:`chassis.auth.ServiceTokenClient`)."""

    async def authorization(self) -> dict[str, str]: ...


class IdentityUnavailable(UpstreamUnavailable):
    """No service token could be had, so the call was not made."""


@dataclass(frozen=True, slots=True)
class ClientPolicy:
    """Timeouts, retries and limits, the same for every upstream of one client."""

    attempt_timeout: float = 2.0
    deadline: float = 5.0
    connect_timeout: float = 0.5
    max_retries: int = 2
    backoff_base: float = 0.05
    backoff_cap: float = 1.0
    max_in_flight: int = 100
    eject_seconds: float = 5.0
    breaker: Callable[[], CircuitBreaker] = CircuitBreaker
    budget: Callable[[], RetryBudget] = RetryBudget


@dataclass(frozen=True, slots=True)
class ServiceResponse:
    """A 2xx answer, read whole."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


@dataclass(slots=True)
class _Upstream:
    breaker: CircuitBreaker
    budget: RetryBudget
    bulkhead: Bulkhead


@dataclass(slots=True)
class _Call:
    """The state of one call across its attempts."""

    upstream: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    idempotent: bool
    deadline: float  # monotonic
    instance: str | None = None  # pinned to this instance id
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class ServiceClient:
    """One per service process; ``service`` is the caller's own name (for metrics and logs)."""

    def __init__(self, transport: Transport, directory: Directory, *, service: str,
                 tokens: TokenSource | None = None, registry: CollectorRegistry | None = None,
                 policy: ClientPolicy | None = None, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = clock.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rand: Callable[[], float] = random.random,
                 tracing: Tracing = NO_TRACING) -> None:
        self.transport = transport
        self.tracing = tracing
        self.directory = directory
        self.service = service
        self.tokens = tokens
        self.policy = policy or ClientPolicy()
        self.metrics = ClientMetrics(registry or CollectorRegistry(), service)
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._rand = rand
        self._upstreams: dict[str, _Upstream] = {}

    def upstream(self, name: str) -> _Upstream:
        """The breaker, retry budget and bulkhead of one upstream (made on first use)."""
        found = self._upstreams.get(name)
        if found is None:
            found = self._upstreams[name] = _Upstream(
                self.policy.breaker(), self.policy.budget(), Bulkhead(self.policy.max_in_flight))
            breaker = found.breaker
            self.metrics.breaker(name, lambda: float(breaker.state))
        return found

    async def get(self, upstream: str, path: str, **kwargs: Any) -> ServiceResponse:
        return await self.request("GET", upstream, path, **kwargs)

    async def post(self, upstream: str, path: str, **kwargs: Any) -> ServiceResponse:
        return await self.request("POST", upstream, path, **kwargs)

    async def request(self, method: str, upstream: str, path: str, *, json: Any = None,
                      headers: Mapping[str, str] | None = None, idempotent: bool | None = None,
                      deadline: float | None = None, timeout: float | None = None,
                      on_behalf_of: str | None = None, for_client: str | None = None,
                      instance: str | None = None) -> ServiceResponse:
        """Call ``path`` (with its query) on an instance of ``upstream``.

        ``idempotent`` defaults to the method's nature; pass True for a read sent as POST.
        ``on_behalf_of`` is a user's access token, sent in place of this service's own token
        (a front end acting for a signed-in user: the callee checks that user's rights).
        ``deadline`` (Unix seconds) is the caller's own deadline; by default that of the request
        being handled (:data:`~chassis.http.deadline.current_deadline`, set by the web layer
        from ``X-Souk-Deadline``); ``timeout`` overrides the attempt timeout. ``instance`` pins
        the call to that instance id (an operator's read of one instance, its ``/metrics``
        say): no other instance is tried, and none healthy by that id is
        :class:`NoHealthyInstance`. ``for_client`` is the address of the client this call is
        made for, as this service knows it (a front end's visitor, proven to it by the edge):
        sent as ``X-Forwarded-For`` with this service's token in ``X-Souk-Edge-Token``, which a
        callee that names this service in ``edge_services`` believes (its throttles count that
        client, not this service).
        """
        # no client span: one span per hop, the callee's server span (a child of the caller's
        # span, through traceparent) shows the call; a call that got no answer is an event here
        state = self.upstream(upstream)
        if not state.bulkhead.try_acquire():
            self.metrics.call(upstream, "bulkhead_full")
            current_span().add_event(f"call {upstream} refused: bulkhead full")
            raise BulkheadFull(upstream, state.bulkhead.limit)
        try:
            call = await self._prepare(method, upstream, path, json, headers, idempotent,
                                       deadline, on_behalf_of, for_client)
            call.instance = instance
            state.budget.request()
            response = await self._attempts(call, state, timeout or self.policy.attempt_timeout)
        except UpstreamError:
            self.metrics.call(upstream, "status")
            raise
        except ServiceCallError as exc:
            self.metrics.call(upstream, _outcome(exc))
            current_span().add_event(f"call {upstream} failed: {type(exc).__name__}")
            raise
        finally:
            state.bulkhead.release()
        self.metrics.call(upstream, "ok")
        return response

    async def _prepare(self, method: str, upstream: str, path: str, json: Any,
                       headers: Mapping[str, str] | None, idempotent: bool | None,
                       deadline: float | None, on_behalf_of: str | None = None,
                       for_client: str | None = None) -> _Call:
        seconds = self.policy.deadline
        if deadline is None:
            deadline = current_deadline.get()
        if deadline is not None:
            seconds = min(seconds, deadline - self._wall())
        if seconds <= _MIN_ATTEMPT_SECONDS:
            raise UpstreamTimeout(upstream, "the caller's deadline has already passed")
        sent = {"Accept": "application/json", **(headers or {})}
        sent[DEADLINE_HEADER] = deadline_header_value(self._wall() + seconds)
        if self.tracing.enabled:
            inject(sent)  # the callee continues the current span's trace
        request_id = request_id_var.get()
        if request_id:
            sent.setdefault("X-Request-Id", request_id)
        body = None
        if json is not None:
            body = orjson.dumps(json)
            sent["Content-Type"] = "application/json"
        if on_behalf_of is not None:
            sent["Authorization"] = f"Bearer {on_behalf_of}"
        if (on_behalf_of is None or for_client is not None) and self.tokens is not None:
            try:
                own = await self.tokens.authorization()
            except Exception as exc:
                raise IdentityUnavailable(
                    upstream, f"no service token: {str(exc) or type(exc).__name__}") from exc
            if on_behalf_of is None:
                sent.update(own)
            if for_client is not None:
                sent["X-Forwarded-For"] = for_client
                sent[_EDGE_TOKEN_HEADER] = own["Authorization"].removeprefix("Bearer ")
        method = method.upper()
        return _Call(upstream, method, path, sent, body,
                     method in IDEMPOTENT_METHODS if idempotent is None else idempotent,
                     self._clock() + seconds)

    async def _attempts(self, call: _Call, state: _Upstream, attempt_timeout: float
                        ) -> ServiceResponse:
        last: ServiceCallError | None = None
        for attempt in range(1, self.policy.max_retries + 2):
            left = call.deadline - self._clock()
            if left < _MIN_ATTEMPT_SECONDS:
                raise UpstreamTimeout(call.upstream, "the call's deadline passed")
            instance = self._pick(call)
            if instance is None:
                break
            ticket = state.breaker.allow()
            if ticket is None:
                raise CircuitOpen(call.upstream, state.breaker.retry_after())
            outcome = await self._attempt(call, state, instance, ticket,
                                          min(attempt_timeout, left))
            if isinstance(outcome, ServiceResponse):
                return outcome
            if outcome is None:  # refused: never sent, go elsewhere at once
                self.metrics.retry(call.upstream, "refused")
                if self._names_all_refused(call):
                    # a name again, a moment later: nothing was sent, nothing to budget
                    pause = backoff(attempt, base=self.policy.backoff_base,
                                    cap=self.policy.backoff_cap, rand=self._rand)
                    if self._clock() + pause + _MIN_ATTEMPT_SECONDS < call.deadline:
                        await self._sleep(pause)
                continue
            last, retryable, reason = outcome
            call.failed.append(instance.instance_id)
            if not retryable or not call.idempotent:
                raise last
            delay = self._retry_delay(call, state, attempt, reason)
            if delay is None:
                raise last
            await self._sleep(delay)
        if last is not None:
            raise last
        if call.refused:
            raise UpstreamUnavailable(call.upstream, "every instance tried refused the connection")
        raise NoHealthyInstance(call.upstream, "no healthy instance is registered")

    async def _attempt(self, call: _Call, state: _Upstream, instance: Instance, ticket: int,
                       timeout: float
                       ) -> ServiceResponse | tuple[ServiceCallError, bool, str] | None:
        """One exchange: the response, None when refused, or (error, retryable, reason)."""
        breaker, balancer = state.breaker, self.directory.balancer(call.upstream)
        instance_id = instance.instance_id
        balancer.started(instance_id)
        started = self._clock()
        settled = False
        try:
            try:
                raw = await self.transport.send(call.method, instance.url + call.path,
                                                headers=call.headers, body=call.body,
                                                timeout=timeout)
            except ConnectFailed as exc:
                breaker.record(ticket, failed=True, seconds=self._clock() - started)
                settled = True
                call.refused.append(instance_id)
                self.directory.eject(instance_id, self.policy.eject_seconds)
                log.warning("upstream refused the connection; ejected", upstream=call.upstream,
                            upstream_instance=instance_id, error=str(exc))
                return None
            except TimeoutError:
                breaker.record(ticket, failed=True, seconds=self._clock() - started)
                settled = True
                return (UpstreamTimeout(call.upstream, f"no answer within {timeout:.3g}s"),
                        True, "timeout")
            except SendFailed as exc:
                breaker.record(ticket, failed=True, seconds=self._clock() - started)
                settled = True
                return UpstreamUnavailable(call.upstream, f"connection failed: {exc}"), True, "reset"
            # an upstream shedding load is busy, not failing; one whose own upstream failed
            # (Proxy-Status) is not failing either
            shed = sheds(raw.status, _has_retry_after(raw.headers))
            another = for_another(raw.status, raw.headers)
            seconds = self._clock() - started
            if seconds >= breaker.slow_seconds and waited_on_purpose(
                    raw.headers.get("preference-applied") or raw.headers.get("Preference-Applied")):
                seconds = 0.0  # a long poll: its time is the wait it was asked for
            breaker.record(ticket, failed=raw.status >= 500 and not shed and not another,
                           seconds=seconds)
            settled = True
        finally:
            balancer.finished(instance_id)
            if not settled:
                breaker.release(ticket)
        if 200 <= raw.status < 300:
            return ServiceResponse(raw.status, raw.headers, raw.body)
        error = _status_error(call.upstream, raw)
        # another instance would meet the same failure further on: no retry
        return error, retryable(raw.status, shed) and not another, "status"

    def _pick(self, call: _Call) -> Instance | None:
        if call.instance is not None:
            return self._pinned(call)
        if not call.refused and not call.failed:
            return self.directory.pick(call.upstream)
        instance = self.directory.pick(call.upstream,
                                       exclude=frozenset(call.refused + call.failed))
        if instance is None and call.failed:  # a retry may go back to an instance that answered
            instance = self.directory.pick(call.upstream, exclude=frozenset(call.refused))
        if instance is None and self._names_all_refused(call):
            # a fixed name (a Kubernetes Service) balances each new connection over its ready
            # pods: the one that refused was most likely a pod shutting down, the next is not
            instance = self.directory.pick(call.upstream)
        return instance

    def _names_all_refused(self, call: _Call) -> bool:
        """Whether ``call``'s upstream is reached by fixed names and every one has refused."""
        directory = self.directory
        if not call.refused or not isinstance(directory, StaticDirectory):
            return False
        names = directory.fixed(call.upstream)
        return bool(names) and names <= frozenset(call.refused)

    def _pinned(self, call: _Call) -> Instance | None:
        """The instance ``call.instance``, if healthy and not yet tried (the directory is
        walked through ``pick``'s exclusions: it lists nothing else). Fixed URLs name no
        instance the registry listed: such an id is looked for in the registry's view too."""
        tried = frozenset(call.refused + call.failed)
        if call.instance in tried:
            return None
        directories = [self.directory]
        if isinstance(self.directory, StaticDirectory) and self.directory.fallback is not None:
            directories.append(self.directory.fallback)
        for directory in directories:
            seen: set[str] = set()
            for _ in range(_MAX_PINNED_WALK):
                found = directory.pick(call.upstream, exclude=frozenset(seen))
                if found is None:
                    break
                if found.instance_id == call.instance:
                    return found
                seen.add(found.instance_id)
        return None

    def _retry_delay(self, call: _Call, state: _Upstream, attempt: int,
                     reason: str) -> float | None:
        if attempt > self.policy.max_retries:
            return None
        delay = backoff(attempt, base=self.policy.backoff_base, cap=self.policy.backoff_cap,
                        rand=self._rand)
        if self._clock() + delay + _MIN_ATTEMPT_SECONDS >= call.deadline:
            return None
        if not state.budget.try_retry():
            self.metrics.retry(call.upstream, "budget_exhausted")
            return None
        self.metrics.retry(call.upstream, reason)
        return delay


def _status_error(upstream: str, raw: RawResponse) -> UpstreamError:
    problem: dict[str, Any] = {}
    try:
        doc = orjson.loads(raw.body) if raw.body else {}
        if isinstance(doc, dict):
            problem = doc
    except orjson.JSONDecodeError:
        pass
    return UpstreamError(upstream, raw.status, problem)


def _has_retry_after(headers: Mapping[str, str]) -> bool:
    return "Retry-After" in headers or "retry-after" in headers


def _outcome(exc: ServiceCallError) -> str:
    if isinstance(exc, CircuitOpen):
        return "circuit_open"
    if isinstance(exc, BulkheadFull):
        return "bulkhead_full"
    if isinstance(exc, UpstreamTimeout):
        return "timeout"
    if isinstance(exc, NoHealthyInstance):
        return "no_instance"
    if isinstance(exc, IdentityUnavailable):
        return "no_identity"
    return "unavailable"
