"""The service app factory: every Souk service is built by ``create_service_app``.

It wires what every service shares — problem+json errors, request ids, RED metrics, health probes,
the OpenAPI document, structured logs, traces, the database (migrated at start), the broker and
the messaging chain, discovery, service identity and registry registration — and leaves the
service its routers, its message handlers and its own start-up work::

    app = create_service_app(settings, description="Checkout: …", routers=[http.router],
                             handlers=messages.handlers, problems=PROBLEMS,
                             lifespan=bootstrap)

``lifespan(app, runtime)`` runs once the shared resources are up; it builds the service's objects
and hands them to handlers with ``app.provide(obj)``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import msgspec
from prometheus_client import CollectorRegistry

from chassis.db import Database, UnstorableText, migrate, open_database
from chassis.db.migrate import package_migrations
from chassis.discovery import Discovery, Registration
from chassis.faults import FaultPoints
from chassis.health import HealthChecks
from chassis.live.model import LiveSettings, ServiceLiveSettings
from chassis.logging import configure_logging, get_logger
from chassis.messaging.handlers import MessageHandlers
from chassis.metrics import CONTENT_TYPE_LATEST, DatabaseMetrics, HttpMetrics, render
from chassis.pagination import InvalidCursor
from chassis.problems import Problem, ProblemMap
from chassis.runtime import Runtime
from chassis.settings import ServiceSettings
from chassis.tasks import cancel_and_wait
from chassis.tracing import Tracing
from chassis.web import ADMIN, App, Media, Priority, Response, Router
from chassis.web.faults import fault_key

__all__ = ["ServiceLifespan", "create_service_app"]

log = get_logger(__name__)

INBOX_PRUNE_INTERVAL = 600.0  # seconds; a run deletes what aged out since, in batches

ServiceLifespan = Callable[[App, Runtime], AbstractAsyncContextManager[None]]


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str | None = None,
    version: str = "1.0.0",
    description: str = "",
    routers: Iterable[Router] = (),
    problems: ProblemMap | None = None,
    migrations: Path | None = None,
    handlers: MessageHandlers | None = None,
    messaging: bool = False,
    lifespan: ServiceLifespan | None = None,
    use_broker: bool = True,
    register: bool = True,
    verify_tokens: bool = True,
    tracing: Tracing | None = None,
    live: type[LiveSettings] = ServiceLiveSettings,
) -> App:
    """Build a service's app with the chassis wired in.

    ``title`` and ``description`` head its OpenAPI document; the title is ``Souk <service_name>``
    unless given.

    ``migrations`` is the service's Alembic folder, applied at start when a database is
    configured; by default the ``migrations`` folder of the package the settings class belongs to
    (``orders/migrations`` for ``orders.settings.OrdersSettings``), if it has one.

    ``handlers`` are the service's message handlers (they imply ``messaging``: the outbox, the
    relay and a durable consumer; it needs a database and a NATS URL); with ``messaging`` alone
    the service publishes and consumes nothing. ``verify_tokens`` builds the token verifier from
    ``jwks_url`` or, with a registry, from a healthy identity instance; identity itself passes
    False and sets ``app.verifier``. ``tracing`` replaces the one built from ``otlp_endpoint``
    (tests). ``live`` is the service's live settings type (:mod:`chassis.live`): a subclass of
    :class:`~chassis.live.ServiceLiveSettings` with its own; ``runtime.live`` holds them from
    start-up, watched in the ``SOUK_CONFIG`` bucket when there is a broker.
    """
    configure_logging(settings.service_name, settings.instance_id,
                      level=settings.log_level, fmt=settings.log_format)
    started_at = time.time()  # registered: a new value tells the registry the process restarted
    metrics_registry = CollectorRegistry(auto_describe=True)
    runtime = Runtime(settings=settings, metrics_registry=metrics_registry,
                      http_metrics=HttpMetrics(metrics_registry, settings.service_name),
                      health=HealthChecks(), faults=FaultPoints(settings.fault_dir or None),
                      tracing=tracing or Tracing.from_settings(
                          settings.service_name, settings.instance_id, settings.otlp_endpoint,
                          settings.trace_sample_ratio, keep_ratio=settings.trace_keep_ratio,
                          slow_ms=settings.trace_slow_ms))
    with_messaging = messaging or handlers is not None
    if migrations is None:
        migrations = package_migrations(type(settings).__module__.partition(".")[0])

    @asynccontextmanager
    async def _lifespan(app: App) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(runtime.tracing.aclose)  # posts the spans still queued
            stack.push_async_callback(runtime.background.close)  # a start that fails half-way
            await _start_shared(runtime, stack, migrations, use_broker)
            await _start_live(app, runtime, stack, live, handlers)
            stack.push_async_callback(runtime.close_client)
            _start_auth(runtime, verify_tokens)
            if app.verifier is None:
                app.verifier = runtime.verifier
            if with_messaging:
                _build_messaging(runtime)
                from chassis.messaging.schema import check_messaging_tables

                assert runtime.db is not None  # _build_messaging refused otherwise
                await check_messaging_tables(runtime.db, settings.service_name)
            app.provide(runtime)
            if runtime.db is not None:
                app.provide(runtime.db, Database)
            if lifespan is not None:
                await stack.enter_async_context(lifespan(app, runtime))
            if runtime.messaging is not None:
                if handlers is not None:
                    runtime.messaging.subscribe(handlers, app.providers)
                await runtime.messaging.start()
                stack.push_async_callback(runtime.messaging.close)
            if register and settings.registry_url:
                runtime.registration = Registration(
                    settings.registry_url, service=settings.service_name,
                    instance_id=settings.instance_id, url=settings.advertise_url,
                    secret=settings.service_secret, interval=settings.heartbeat_interval,
                    metadata={"version": version, "started_at": f"{started_at:.3f}"})
                await runtime.registration.start()
                stack.push_async_callback(runtime.registration.stop)
            # stopped first on the way out: the loops use the database, the broker and the
            # lifespan's objects, all torn down after this
            stack.push_async_callback(runtime.background.close)
            log.info("service started", url=settings.advertise_url)
            yield
            log.info("service stopping")

    app = App(title=title or f"Souk {settings.service_name}", version=version, description=description,
              problems={InvalidCursor: (400, "invalid-cursor"),
                        UnstorableText: (400, "invalid-characters"),
                        **(problems or {})},
              lifespan=_lifespan, metrics=runtime.http_metrics, tracing=runtime.tracing,
              settings=settings, faults=runtime.active_faults,
              max_concurrency=settings.max_concurrency)
    app.provide(settings)
    app.provide(settings, ServiceSettings)
    app.runtime = runtime  # type: ignore[attr-defined]
    app.migrations = migrations  # type: ignore[attr-defined]
    for router in routers:
        app.include(router)
    app.include(_operations_router(app, runtime, with_messaging))
    return app


def _build_messaging(runtime: Runtime) -> None:
    from chassis.messaging import Messaging
    from chassis.messaging.streams import StreamLimits

    if runtime.db is None or runtime.broker is None:
        raise RuntimeError("messaging needs a database URL and a NATS URL")
    settings = runtime.settings
    runtime.messaging = Messaging(
        runtime.db, runtime.broker, settings.service_name, runtime.metrics_registry,
        runtime.faults, tracing=runtime.tracing,
        limits=StreamLimits(max_age=settings.stream_max_age, max_bytes=settings.stream_max_bytes,
                            dlq_max_bytes=settings.dlq_max_bytes,
                            replicas=settings.stream_replicas),
        relay_max_queued=settings.relay_max_queued, inbox_retention=settings.inbox_retention,
        active_faults=runtime.active_faults)
    # the outbox holds what is sent while NATS is away: a broker outage degrades, never unreadies
    runtime.health.add("messaging", runtime.messaging.check, required=False)
    runtime.background.every(INBOX_PRUNE_INTERVAL, runtime.messaging.prune_inbox,
                             name="inbox-pruning")


async def _start_shared(runtime: Runtime, stack: AsyncExitStack, migrations: Path | None,
                        use_broker: bool) -> None:
    settings = runtime.settings
    if settings.database_url:
        if migrations is not None:
            await migrate(settings.database_url, migrations)
        db: Database = open_database(settings.database_url, tracing=runtime.tracing)
        await db.connect()
        stack.push_async_callback(db.close)
        runtime.db = db
        if (counts := getattr(db, "counts", None)) is not None:
            runtime.metrics_registry.register(DatabaseMetrics(counts, settings.service_name,
                                                              db.dialect))
        runtime.health.add("database", db.ping)
    if use_broker and settings.nats_url:
        from chassis.broker import Broker  # nats-py costs ~0.2 s to import; only when used

        broker = Broker(settings.nats_url, name=settings.instance_id)
        await broker.start()
        stack.push_async_callback(broker.close)
        runtime.broker = broker
        runtime.health.add("broker", broker.check, required=False)
        if runtime.tracing.enabled:
            from chassis.trace_keep import listen_for_keeps

            keeps = asyncio.create_task(listen_for_keeps(runtime.tracing, broker),
                                        name="trace-keeps")
            stack.push_async_callback(cancel_and_wait, keeps)
    # one client session per process, for discovery, keys, tokens and calls to other services
    # (opening one costs no connection)
    import aiohttp

    runtime.http = aiohttp.ClientSession()
    stack.push_async_callback(runtime.http.close)
    if settings.registry_url:
        runtime.discovery = Discovery(settings.registry_url, session=runtime.http)
        await runtime.discovery.start()
        stack.push_async_callback(runtime.discovery.close)


def fault_targets(app: App, handlers: MessageHandlers | None) -> dict[str, list[str]]:
    """What a service's fault rules may name (``chassis.fault_rules``): its routes as the
    OpenAPI document names them, the message types it handles by wire and class name."""
    return {"routes": sorted(fault_key(route) for route in app.table.routes),
            "message_types": sorted({name for contract in handlers or ()
                                     for name in (contract.TYPE, contract.__name__)})}


async def _start_live(app: App, runtime: Runtime, stack: AsyncExitStack,
                      kind: type[LiveSettings], handlers: MessageHandlers | None) -> None:
    from chassis.live import Live
    from chassis.live.wiring import bind_common

    settings = runtime.settings
    runtime.live = Live(settings.service_name, settings.instance_id, kind, settings,
                        cache=Path(settings.live_cache) if settings.live_cache else None)
    runtime.live.fault_targets = fault_targets(app, handlers)
    bind_common(runtime.live, runtime.tracing, runtime.active_faults)
    if "max_concurrency" in runtime.live.fields:
        runtime.live.bind(lambda values: app.set_max_concurrency(values.max_concurrency),
                          "max_concurrency", now=runtime.live.overridden("max_concurrency"))
    if runtime.broker is not None:
        await runtime.live.start(runtime.broker)
        stack.push_async_callback(runtime.live.close)


def _start_auth(runtime: Runtime, verify_tokens: bool) -> None:
    from chassis.auth import ServiceTokenClient, verifier_from_settings

    settings, discovery = runtime.settings, runtime.discovery
    if runtime.http is None:  # not started
        return
    if verify_tokens and runtime.verifier is None:  # a verifier given before start-up stays
        runtime.verifier = verifier_from_settings(
            settings, runtime.http, discovery,
            audiences=[settings.jwt_audience, settings.jwt_internal_audience])
    fixed_identity = settings.fixed_upstreams().get("identity")
    if settings.service_secret and (discovery is not None or fixed_identity):
        def identity_url() -> str | None:
            if fixed_identity:  # a Kubernetes Service (upstream_urls)
                return fixed_identity
            instance = None if discovery is None else discovery.pick("identity")
            return None if instance is None else str(instance.url)

        runtime.service_tokens = ServiceTokenClient(
            runtime.http, service=settings.service_name, secret=settings.service_secret,
            identity_url=identity_url)


class Liveness(msgspec.Struct):
    status: str
    instance: str


class Readiness(msgspec.Struct):
    status: Literal["ready", "degraded"]
    checks: dict[str, str]


class OutboxState(msgspec.Struct):
    pending: int
    oldest_pending_age_s: float
    queued_in_memory: int


class MessagingState(msgspec.Struct):
    service: str
    instance: str
    outbox: OutboxState
    dead_letters: int
    consumers: dict[str, Any]


def _operations_router(app: App, runtime: Runtime, with_messaging: bool) -> Router:
    router = Router(tags=["operations"])

    never_shed = Priority.EXEMPT

    @router.get("/health/live", priority=never_shed)
    async def live() -> Liveness:
        """The process runs."""
        return Liveness("alive", runtime.settings.instance_id)

    @router.get("/health/ready", problems={503: "a required check is failing (not-ready)"},
                priority=never_shed)
    async def ready() -> Readiness:
        """Every required check passes (the database answers): `ready`, or `degraded` when an
        optional one fails (the broker is away: the outbox holds what is sent meanwhile)."""
        status, checks = await runtime.health.run()
        if status == "not-ready":
            raise Problem(503, "not-ready", "a required readiness check is failing", checks=checks)
        return Readiness(status, checks)

    @router.get("/metrics", responses={200: Media(CONTENT_TYPE_LATEST, "Prometheus text")},
                priority=never_shed)
    async def metrics() -> Response:
        """Prometheus metrics of this instance."""
        return Response(render(runtime.metrics_registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/openapi.json", responses={200: Media("application/json", "this document")},
                priority=never_shed)
    async def openapi() -> Response:
        """This service's OpenAPI document."""
        return Response(app.openapi(), media_type="application/json")

    if with_messaging:
        @router.get("/v1/admin/messaging", auth=ADMIN)
        async def messaging_status() -> MessagingState:
            """Outbox, dead letters and consumer lag of this instance (admin)."""
            m = runtime.require_messaging()
            stats = await m.outbox_stats()
            try:
                consumers = await m.consumer_stats()
            except Exception as exc:  # NATS away: the database part is still worth showing
                consumers = {"error": str(exc) or type(exc).__name__}
            return MessagingState(
                service=runtime.settings.service_name, instance=runtime.settings.instance_id,
                outbox=OutboxState(stats["pending"], stats["oldest_pending_age_s"],
                                   m.relay.queued),
                dead_letters=stats["dead_letters"], consumers=consumers)

    return router

