"""The gateway as a raw ASGI application: lifespan, local endpoints, and the routed path.

Raw ASGI rather than a framework: the gateway sits in front of every call, and each microsecond
spent here is spent on every request of the platform (a framework layer roughly doubles the cost
of a trivial handler in our measurements). The app is the composition root: everything it uses is
built in :func:`create_app` or in the lifespan, nothing at import.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from importlib import metadata
from urllib.parse import quote

import aiohttp
from prometheus_client import CollectorRegistry

from chassis.auth import TokenVerifier
from chassis.context import header_value, valid_request_id
from chassis.discovery import Discovery, LeastOutstanding, Registration, RoundRobin
from chassis.health import HealthChecks
from chassis.ids import new_id
from chassis.logging import configure_logging, get_logger
from chassis.metrics import CONTENT_TYPE_LATEST, render
from chassis.problems import Problem
from chassis.tracing import SpanKind, StatusCode, Tracing
from gateway.asgi import (
    ClientGone,
    Message,
    Receive,
    Scope,
    Send,
    read_body,
    send_bytes,
    send_json,
    send_problem,
)
from gateway.auth import Authenticator
from gateway.breaker import CircuitBreaker
from gateway.filters import Filter, StartableFilter, run_filters
from gateway.headers import REQUEST_ID_HEADER
from gateway.metrics import UNMATCHED, GatewayMetrics
from gateway.openapi import OPENAPI_PATH, rewrite_openapi_bytes
from gateway.proxy import DiscoveryLike, Proxy, Resilience
from gateway.ratelimit import RateLimits
from gateway.retry import RetryBudget, backoff
from gateway.routes import RouteMatch, Router, RouteTable, load_routes, upstream_target
from gateway.settings import GatewaySettings

__all__ = ["Gateway", "create_app"]

log = get_logger(__name__)

_LocalEndpoint = Callable[[Scope, Send], Awaitable[int]]
_METRICS_TYPE = CONTENT_TYPE_LATEST.encode()
# the OpenAPI rewrite needs an uncompressed document
_OPENAPI_REQUEST_DROPS = frozenset({b"accept-encoding"})


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
    settings = settings or GatewaySettings()
    table = routes or load_routes(settings.routes_file)
    metrics = GatewayMetrics(CollectorRegistry(auto_describe=True), settings.service_name)
    if filters is None:
        filters = (
            Authenticator(settings, metrics, verifier=verifier),
            RateLimits({"default": settings.rate_limit, "login": settings.login_rate_limit},
                       metrics, redis_url=settings.redis_url,
                       key_prefix=settings.rate_limit_prefix),
        )
    return Gateway(settings, Router(table), discovery=discovery, filters=filters,
                   metrics=metrics, resilience=resilience(settings))


def resilience(settings: GatewaySettings) -> Resilience:
    """The proxy's breaker, retry and ejection policy from settings."""

    def breaker() -> CircuitBreaker:
        return CircuitBreaker(
            window=settings.breaker_window, min_calls=settings.breaker_min_calls,
            failure_ratio=settings.breaker_failure_ratio, slow_ratio=settings.breaker_slow_ratio,
            slow_seconds=settings.breaker_slow_seconds, open_seconds=settings.breaker_open_seconds,
            probes=settings.breaker_half_open_probes)

    def budget() -> RetryBudget:
        return RetryBudget(ratio=settings.retry_budget_ratio, min_retries=settings.retry_budget_min,
                           window=settings.retry_budget_window)

    return Resilience(
        max_retries=settings.max_retries, eject_seconds=settings.eject_seconds,
        eject_after_5xx=settings.eject_after_5xx, breaker=breaker, budget=budget,
        backoff=functools.partial(backoff, base=settings.retry_base_delay,
                                  cap=settings.retry_max_delay))


class Gateway:
    """The ASGI callable. Resources (the upstream session, discovery, registration) exist
    between lifespan start-up and shutdown."""

    def __init__(self, settings: GatewaySettings, router: Router, *,
                 discovery: DiscoveryLike | None, filters: Sequence[Filter],
                 metrics: GatewayMetrics, resilience: Resilience) -> None:
        self.settings = settings
        self.router = router
        self.filters = tuple(filters)
        self.metrics_registry = metrics.registry
        self.metrics = metrics
        self.resilience = resilience
        self.health = HealthChecks()
        self.health.add("routes", self._check_routes)
        self.health.add("upstream_session", self._check_session)
        self.discovery = discovery
        self.session: aiohttp.ClientSession | None = None
        self.proxy: Proxy | None = None
        self._stack: AsyncExitStack | None = None
        self._local: dict[str, _LocalEndpoint] = {
            "/health/live": self._live, "/health/ready": self._ready, "/metrics": self._metrics}
        self.tracing = Tracing.from_settings(settings.service_name, settings.instance_id,
                                             settings.otlp_endpoint, settings.trace_sample_ratio)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":  # not proxied (yet): refuse the handshake
            await send({"type": "websocket.close", "code": 1008})

    # -- lifespan -------------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("gateway failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Start the upstream session, discovery and registration (in that order)."""
        settings = self.settings
        configure_logging(settings.service_name, settings.instance_id,
                          level=settings.log_level, fmt=settings.log_format)
        async with AsyncExitStack() as stack:
            session = self._new_session()
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
                    interval=settings.heartbeat_interval, metadata={"version": _version()})
                await registration.start()
                stack.push_async_callback(registration.stop)
            for request_filter in self.filters:
                if isinstance(request_filter, StartableFilter):
                    await request_filter.start(session, discovery)
                    stack.push_async_callback(request_filter.close)
            self.discovery = discovery
            self.session = session
            self.proxy = Proxy(session, discovery, self.metrics,
                               default_timeout=settings.upstream_timeout,
                               connect_timeout=settings.connect_timeout,
                               resilience=self.resilience, tracing=self.tracing)
            self._stack = stack.pop_all()  # success: keep everything open until shutdown
        log.info("gateway started", url=settings.advertise_url,
                 routes=len(self.router.table.routes))

    async def shutdown(self) -> None:
        """Deregister, stop watching, close the upstream session (reverse of start-up)."""
        log.info("gateway stopping")
        self.proxy = None
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
        self.tracing.shutdown()
        self.session = None

    def _new_session(self) -> aiohttp.ClientSession:
        settings = self.settings
        connector = aiohttp.TCPConnector(limit=settings.pool_limit, limit_per_host=0,
                                         keepalive_timeout=settings.upstream_keepalive)
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # bodies pass through as the upstream encoded them
            # send only the client's headers, not aiohttp's defaults
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout,
                                          sock_read=settings.upstream_timeout),
        )
        # aiohttp silently sends an idempotent request a second time when the connection dies
        # before the answer; the proxy's own retries (budgeted, backed off, counted) replace that.
        # No public switch exists; the resilience tests count attempts and catch a rename.
        session._retry_connection = False
        return session

    # -- requests -------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.tracing.enabled or scope["path"] in self._local:
            await self._serve(scope, receive, send)
            return
        # the edge starts the trace: a caller's traceparent is not trusted (nor forwarded)
        method = scope["method"]
        status = 500

        async def send_seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self.tracing.span(f"{method} {scope['path']}", kind=SpanKind.SERVER, attributes={
                "http.request.method": method, "url.path": scope["path"]}) as span:
            await self._serve(scope, receive, send_seen)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(StatusCode.ERROR)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        request_id = valid_request_id(header_value(scope, REQUEST_ID_HEADER)) or new_id()
        path: str = scope["path"]
        label = UNMATCHED
        try:
            local = self._local.get(path)
            if local is not None:
                label = path
                status = await local(scope, send)
            else:
                raw_path: bytes | None = scope.get("raw_path")
                match = self.router.match(raw_path.decode("latin-1") if raw_path else quote(path))
                if match is None:
                    raise Problem(404, "gateway/no-route", f"no route for {path}")
                label = match.route.prefix
                status = await self._routed(match, scope, receive, send, request_id)
        except Problem as problem:
            status = await send_problem(send, problem, path=path,
                                        headers=[(REQUEST_ID_HEADER, request_id.encode())])
        except ClientGone:
            status = 499  # nginx's code for "client closed request": nobody saw a response
        except Exception as exc:
            log.exception("unexpected error", path=path, request_id=request_id,
                          error_type=type(exc).__name__)
            internal = Problem(500, "gateway/internal-error",
                               "an unexpected error occurred; quote the request id when "
                               "reporting it", request_id=request_id)
            status = await send_problem(send, internal, path=path,
                                        headers=[(REQUEST_ID_HEADER, request_id.encode())])
        self.metrics.http.observe(scope["method"], label, status, time.perf_counter() - start)

    async def _routed(self, match: RouteMatch, scope: Scope, receive: Receive, send: Send,
                      request_id: str) -> int:
        path: str = scope["path"]
        if "/." in path and any(s in (".", "..") for s in path.split("/")):
            # an upstream that normalised the path could be walked out of the routed prefix
            raise Problem(400, "gateway/bad-path", "the path must not contain '.' or '..' segments")
        route = match.route
        if self.filters:
            problem = await run_filters(self.filters, route, scope)
            if problem is not None:
                raise problem
        proxy = self.proxy
        if proxy is None:
            raise Problem(503, "gateway/not-ready", "the gateway is starting or stopping",
                          headers={"Retry-After": "1"})
        if match.rest == OPENAPI_PATH and scope["method"] == "GET":
            rewrite = functools.partial(rewrite_openapi_bytes, public_prefix=route.prefix,
                                        upstream_prefix=route.upstream_prefix)
            return await proxy.forward(route, OPENAPI_PATH, scope, receive, send, request_id,
                                       b"", rewrite=rewrite, drop_headers=_OPENAPI_REQUEST_DROPS)
        body = await read_body(scope, receive, self.settings.max_body_bytes)
        return await proxy.forward(route, upstream_target(match, scope["query_string"]), scope,
                                   receive, send, request_id, body)

    # -- local endpoints ------------------------------------------------------------------------

    async def _live(self, scope: Scope, send: Send) -> int:
        _only_get(scope)
        return await send_json(send, 200, {"status": "alive",
                                           "instance": self.settings.instance_id})

    async def _ready(self, scope: Scope, send: Send) -> int:
        _only_get(scope)
        ok, checks = await self.health.run()
        # information only: the gateway keeps routing from its cached view while the registry
        # is down, so an unreachable registry must not take the gateway out of rotation
        registry = ("unknown" if self.discovery is None
                    else "reachable" if self.discovery.registry_reachable
                    else "unreachable (serving from cache)")
        if not ok:
            raise Problem(503, "not-ready", "a readiness check is failing", checks=checks,
                          registry=registry)
        return await send_json(send, 200, {"status": "ready", "checks": checks,
                                           "registry": registry})

    async def _metrics(self, scope: Scope, send: Send) -> int:
        _only_get(scope)
        return await send_bytes(send, 200, render(self.metrics_registry), _METRICS_TYPE)

    async def _check_routes(self) -> None:
        if not self.router.table.routes:
            raise RuntimeError("no routes loaded")

    async def _check_session(self) -> None:
        if self.session is None or self.session.closed:
            raise RuntimeError("the upstream session is not open")


def _only_get(scope: Scope) -> None:
    if scope["method"] not in ("GET", "HEAD"):
        raise Problem(405, "gateway/method-not-allowed", f"{scope['method']} is not allowed here",
                      headers={"Allow": "GET, HEAD"})
