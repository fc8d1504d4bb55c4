"""The gateway: composition root, local endpoints, and the routed path of every request.

No framework in the data path: the gateway's own server (:mod:`gateway.server`) hands each whole
request to :meth:`Gateway.handle`; :mod:`gateway.exchange` matches the route once, runs the
filters (authentication, rate limits) and forwards through the upstream pool
(:mod:`gateway.proxy`), in callbacks when nothing needs awaiting.
Everything the gateway uses is built in :func:`create_app` or in :meth:`Gateway.startup`, nothing
at import. The control plane (registry watch, registration, JWKS fetches) keeps an aiohttp
session: it is off the per-request path.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from chassis.auth import TokenVerifier
from chassis.background import Background
from chassis.discovery import Discovery, LeastOutstanding, Registration, RoundRobin
from chassis.fault_rules import ActiveFaults
from chassis.health import HealthChecks
from chassis.http.h1 import H1Pool
from chassis.live import Live
from chassis.live.wiring import bind_common
from chassis.logging import configure_logging, get_logger
from chassis.problems import Problem
from chassis.tasks import cancel_and_wait
from chassis.tracing import Tracing
from chassis.web.app import freeze_startup_objects
from gateway.auth import Authenticator, client_allowed
from gateway.breaker import CircuitBreaker
from gateway.cors import Cors
from gateway.edge_token import RENEW_EVERY, EdgeToken
from gateway.exchange import Exchange
from gateway.filters import Filter, StartableFilter, SyncFilter
from gateway.ids import RequestIds
from gateway.metrics import UNMATCHED, GatewayMetrics
from gateway.proxy import DiscoveryLike, Proxy, Resilience
from gateway.ratelimit import RateLimits
from gateway.request import Request
from gateway.retry import RetryBudget, backoff
from gateway.routes import RATE_LIMIT_CLASSES, Router, RouteTable, load_routes
from gateway.settings import GatewayLive, GatewaySettings

if TYPE_CHECKING:
    from chassis.broker import Broker

__all__ = ["Gateway", "create_app", "resilience"]

log = get_logger(__name__)

_LocalEndpoint = Callable[[Request], Awaitable[int]]
_METRICS_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


def _version() -> str:
    try:
        return metadata.version("souk-gateway")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def create_app(settings: GatewaySettings | None = None, discovery: DiscoveryLike | None = None,
               *, filters: Sequence[Filter] | None = None, routes: RouteTable | None = None,
               verifier: TokenVerifier | None = None) -> Gateway:
    """Build the gateway. The route table is loaded and validated here, so a broken table stops
    the process before it listens.

    ``discovery`` replaces the registry-backed :class:`~chassis.discovery.Discovery` (tests, or a
    gateway with no registry); with neither it and ``registry_url``, start-up fails.
    ``filters`` run in order before every proxied request (see :mod:`gateway.filters`); by default
    authentication then rate limits, from settings. ``verifier`` replaces the token verifier the
    default authentication filter would build at start-up.
    """
    settings = settings or GatewaySettings.load()
    table = routes or load_routes(settings.routes_path())
    metrics = GatewayMetrics(settings.service_name)
    metrics.zero_series(sorted({route.service for route in table.routes}), RATE_LIMIT_CLASSES)
    if filters is None:
        filters = (
            Authenticator(settings, metrics, verifier=verifier),
            RateLimits({"default": settings.rate_limit, "login": settings.login_rate_limit},
                       metrics, redis_url=settings.redis_url,
                       key_prefix=settings.rate_limit_prefix),
        )
    return Gateway(settings, Router(table), discovery=discovery, filters=filters,
                   metrics=metrics, resilience=resilience(settings))


def resilience(settings: GatewaySettings, live: GatewayLive | None = None) -> Resilience:
    """The proxy's breaker, retry and ejection policy from settings; the thresholds from the
    live settings when given (the windows and backoff delays are static only)."""
    now: GatewaySettings | GatewayLive = live or settings

    def breaker() -> CircuitBreaker:
        return CircuitBreaker(
            window=settings.breaker_window, min_calls=now.breaker_min_calls,
            failure_ratio=now.breaker_failure_ratio, slow_ratio=now.breaker_slow_ratio,
            slow_seconds=now.breaker_slow_seconds, open_seconds=now.breaker_open_seconds,
            probes=now.breaker_half_open_probes)

    def budget() -> RetryBudget:
        return RetryBudget(ratio=now.retry_budget_ratio, min_retries=now.retry_budget_min,
                           window=settings.retry_budget_window)

    return Resilience(
        max_retries=now.max_retries, eject_seconds=now.eject_seconds,
        eject_after_5xx=now.eject_after_5xx, breaker=breaker, budget=budget,
        max_outstanding=settings.max_outstanding_per_instance,
        backoff=functools.partial(backoff, base=settings.retry_base_delay,
                                  cap=settings.retry_max_delay))


def _set_rate_limits(limiter: RateLimits, values: GatewayLive) -> None:
    limiter.set_limits({"default": values.rate_limit, "login": values.login_rate_limit})


class Gateway:
    """The request handler and its resources, which exist between :meth:`startup` and
    :meth:`shutdown`."""

    loop: asyncio.AbstractEventLoop  # the one it serves on, from start-up

    def __init__(self, settings: GatewaySettings, router: Router, *,
                 discovery: DiscoveryLike | None, filters: Sequence[Filter],
                 metrics: GatewayMetrics, resilience: Resilience) -> None:
        self.settings = settings
        self.router = router
        self.filters = tuple(filters)
        self.metrics = metrics
        self.resilience = resilience
        self.health = HealthChecks()
        self.health.add("routes", self._check_routes)
        self.health.add("upstream_session", self._check_pool)
        self.discovery = discovery
        self.session: aiohttp.ClientSession | None = None  # the control plane's
        self.pool: H1Pool | None = None  # the data plane's
        self.proxy: Proxy | None = None
        self._stack: AsyncExitStack | None = None
        self.ids = RequestIds()
        # each filter's synchronous check, None where it has none (that filter always awaits)
        self.filter_checks = tuple(f.check if isinstance(f, SyncFilter) else None
                                   for f in self.filters)

        self._metrics_networks = settings.metrics_networks()
        self._local: dict[str, _LocalEndpoint] = {
            "/health/live": self._live, "/health/ready": self._ready, "/metrics": self._metrics}
        self.tracing = Tracing.from_settings(
            settings.service_name, settings.instance_id, settings.otlp_endpoint,
            settings.trace_sample_ratio, keep_ratio=settings.trace_keep_ratio,
            slow_ms=settings.trace_slow_ms)
        # live settings (chassis.live): the cached ones now, the store's once watched
        self.active_faults = ActiveFaults()
        self.live = Live(settings.service_name, settings.instance_id, GatewayLive, settings,
                         cache=Path(settings.live_cache) if settings.live_cache else None)
        # no route or message a fault rule could apply to: what the edge answers is its
        # upstreams' (a fault goes on the service behind a route, or `souk fault` between them)
        self.live.fault_targets = {"routes": [], "message_types": []}
        self.cors: Cors | None = None  # off unless origins are allowed (gateway.cors)
        self.set_cors_origins(settings.cors_origins)

    # -- life cycle -----------------------------------------------------------------------------

    async def startup(self) -> None:
        """Open the upstream pool, the control-plane session, discovery, registration and the
        filters' resources (in that order)."""
        settings = self.settings
        configure_logging(settings.service_name, settings.instance_id,
                          level=settings.log_level, fmt=settings.log_format)
        self.loop = asyncio.get_running_loop()
        async with AsyncExitStack() as stack:
            pool = H1Pool(limit=settings.pool_limit, keepalive=settings.upstream_keepalive,
                          connect_timeout=settings.connect_timeout)
            stack.push_async_callback(pool.close)
            session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            stack.push_async_callback(session.close)
            discovery = self.discovery
            if discovery is None:
                if not settings.registry_url:
                    raise RuntimeError("no registry_url and no discovery given: "
                                       "the gateway could not find any service")
                watched = Discovery(settings.registry_url, session=session,
                                    balancer_factory=(LeastOutstanding
                                                      if settings.balancer == "least_outstanding"
                                                      else RoundRobin))
                await watched.start()
                stack.push_async_callback(watched.close)
                discovery = watched
            if settings.registry_url:
                registration = Registration(
                    settings.registry_url, service=settings.service_name,
                    instance_id=settings.instance_id, url=settings.advertise_url,
                    secret=settings.service_secret, interval=settings.heartbeat_interval,
                    metadata={"version": _version()})
                await registration.start()
                stack.push_async_callback(registration.stop)
            broker = await self._start_broker(stack) if settings.nats_url else None
            for request_filter in self.filters:
                if isinstance(request_filter, StartableFilter):
                    await request_filter.start(session, discovery)
                    stack.push_async_callback(request_filter.close)
            self.discovery = discovery
            self.session = session
            self.pool = pool
            self.proxy = Proxy(pool, discovery, self.metrics,
                               default_timeout=settings.upstream_timeout,
                               resilience=self.resilience, router=self.router)
            self._bind_live()
            if broker is not None:
                await self.live.start(broker)
                stack.push_async_callback(self.live.close)
            if settings.service_secret:
                edge = EdgeToken.of(self.proxy, discovery, session,
                                    service=settings.service_name, secret=settings.service_secret)
                background = Background()
                stack.push_async_callback(background.close)
                background.every(RENEW_EVERY, edge.renew, name="edge-token")
            self._stack = stack.pop_all()  # success: keep everything open until shutdown
        freeze_startup_objects()
        log.info("gateway started", url=settings.advertise_url,
                 routes=len(self.router.table.routes))

    async def _start_broker(self, stack: AsyncExitStack) -> Broker:
        """The broker connection: the live settings' store, and the tail keep rules' NATS side
        (chassis.trace_keep: the edge's span of a checkout another service decided to keep is
        kept too)."""
        from chassis.broker import Broker
        from chassis.trace_keep import listen_for_keeps

        broker = Broker(self.settings.nats_url, name=self.settings.instance_id)
        await broker.start()
        stack.push_async_callback(broker.close)
        if self.tracing.enabled:
            task = asyncio.create_task(listen_for_keeps(self.tracing, broker), name="trace-keeps")
            stack.push_async_callback(cancel_and_wait, task)
        return broker

    def _bind_live(self) -> None:
        """Apply the live settings to the filters and the proxy, now and on every change."""
        live, proxy = self.live, self.proxy
        assert proxy is not None
        bind_common(live, self.tracing, self.active_faults)
        # the filters and the proxy were built from the static settings (or given by a test):
        # changed now only where the store (its cache) says otherwise, then on every change
        limits = ("rate_limit", "login_rate_limit")
        for limiter in (f for f in self.filters if isinstance(f, RateLimits)):
            live.bind(functools.partial(_set_rate_limits, limiter), *limits,
                      now=live.overridden(*limits))

        def timeouts(values: GatewayLive) -> None:
            proxy.default_timeout = values.upstream_timeout
            proxy.plans.clear()  # each route's plan holds its deadline: made again on use

        def policy(values: GatewayLive) -> None:
            proxy.reconfigure(resilience(self.settings, values))

        live.bind(timeouts, "upstream_timeout", now=live.overridden("upstream_timeout"))
        thresholds = ("max_retries", "eject_seconds", "eject_after_5xx", "breaker_min_calls",
                      "breaker_failure_ratio", "breaker_slow_ratio", "breaker_slow_seconds",
                      "breaker_open_seconds", "breaker_half_open_probes", "retry_budget_ratio",
                      "retry_budget_min")
        live.bind(policy, *thresholds, now=live.overridden(*thresholds))
        live.bind(lambda values: self.set_max_outstanding(values.max_outstanding_per_instance),
                  "max_outstanding_per_instance",
                  now=live.overridden("max_outstanding_per_instance"))
        live.bind(lambda values: self.set_cors_origins(values.cors_origins), "cors_origins",
                  now=live.overridden("cors_origins"))

    async def shutdown(self) -> None:
        """Deregister, stop watching, close the upstream pool (reverse of start-up)."""
        log.info("gateway stopping")
        self.proxy = None
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
        await self.tracing.aclose()
        self.session = None
        self.pool = None

    def set_cors_origins(self, origins: Sequence[str]) -> None:
        """Allow these origins' pages to call the API from a browser (none: CORS off)."""
        self.cors = Cors(origins, max_age=self.settings.cors_max_age) if origins else None

    def set_max_outstanding(self, per_instance: int) -> None:
        """Change, at run time, how many requests may be outstanding to a service per healthy
        instance before the gateway answers 503 without forwarding (0: no cap)."""
        if per_instance < 0:
            raise ValueError("the outstanding cap cannot be negative")
        if self.proxy is not None:
            self.proxy.max_outstanding = per_instance
        self.resilience = dataclasses.replace(self.resilience, max_outstanding=per_instance)

    # -- requests -------------------------------------------------------------------------------

    def refused(self, method: str, status: int) -> None:
        """A request the server refused before any route (malformed, too large, an upgrade):
        counted like a request that matched none, so a flood of them shows."""
        self.metrics.observe(method, UNMATCHED, status, 0.0)

    def handle(self, request: Request) -> None:
        """Answer one request (the server's handler; see :mod:`gateway.exchange`)."""
        local = self._local.get(request.path)
        if local is not None:  # probes and scrapes: neither traced nor counted as routes
            self.loop.create_task(self._serve_local(request, local))
        else:  # the exchange holds its span itself: no context of its own per request
            Exchange(self, request, None).begin()

    # -- local endpoints ------------------------------------------------------------------------

    async def _serve_local(self, request: Request, endpoint: _LocalEndpoint) -> None:
        start = time.perf_counter()
        try:
            if request.method not in ("GET", "HEAD"):
                raise Problem(405, "gateway/method-not-allowed",
                              f"{request.method} is not allowed here",
                              headers={"Allow": "GET, HEAD"})
            status = await endpoint(request)
        except Problem as problem:
            status = request.respond_problem(problem)
        finally:
            request.finish()
        self.metrics.observe(request.method, request.path, status, time.perf_counter() - start)

    async def _live(self, request: Request) -> int:
        return request.respond_json(200, {"status": "alive",
                                          "instance": self.settings.instance_id})

    async def _ready(self, request: Request) -> int:
        status, checks = await self.health.run()
        # information only: the gateway keeps routing from its cached view while the registry
        # is down, so an unreachable registry must not take the gateway out of rotation
        registry = ("unknown" if self.discovery is None
                    else "reachable" if self.discovery.registry_reachable
                    else "unreachable (serving from cache)")
        if status == "not-ready":
            raise Problem(503, "not-ready", "a readiness check is failing", checks=checks,
                          registry=registry)
        return request.respond_json(200, {"status": "ready", "checks": checks,
                                          "registry": registry})

    async def _metrics(self, request: Request) -> int:
        if not client_allowed(request.client or "", self._metrics_networks):
            raise Problem(403, "gateway/forbidden",
                          "the edge's metrics are read from the addresses in GATEWAY_METRICS_ALLOW")
        return request.respond_bytes(200, self.metrics.render(), _METRICS_TYPE)

    async def _check_routes(self) -> None:
        if not self.router.table.routes:
            raise RuntimeError("no routes loaded")

    async def _check_pool(self) -> None:
        if self.pool is None or self.pool.closed:
            raise RuntimeError("the upstream pool is not open")
