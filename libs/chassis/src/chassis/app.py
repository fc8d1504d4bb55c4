"""The service app factory: every Souk service is built by ``create_service_app``.

It wires what every service shares — problem+json errors, request ids, RED metrics, health probes,
structured logs, the database (migrated at start), the broker and registry registration — and leaves
the service to add its routers and its own start-up work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chassis.context import RequestContextMiddleware
from chassis.db import Database, migrate, open_database
from chassis.db.traced import TracedDatabase
from chassis.discovery import Discovery, Registration
from chassis.errors import install_problem_handlers
from chassis.faults import FaultPoints
from chassis.health import HealthChecks
from chassis.logging import configure_logging, get_logger
from chassis.metrics import CONTENT_TYPE_LATEST, HttpMetrics, render
from chassis.problems import ProblemMap, problem_response
from chassis.runtime import Runtime
from chassis.settings import ServiceSettings
from chassis.tracing import Tracing

__all__ = ["ServiceLifespan", "create_service_app"]

log = get_logger(__name__)

ServiceLifespan = Callable[[FastAPI, Runtime], AbstractAsyncContextManager[None]]


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    version: str = "1.0.0",
    description: str = "",
    problems: ProblemMap | None = None,
    migrations: Path | None = None,
    lifespan: ServiceLifespan | None = None,
    use_broker: bool = True,
    register: bool = True,
    verify_tokens: bool = True,
    messaging: bool = False,
    tracing: Tracing | None = None,
) -> FastAPI:
    """Build a FastAPI app with the chassis wired in.

    ``migrations`` is the service's Alembic folder, applied at start when a database is configured.
    ``lifespan(app, runtime)`` runs after the shared resources are up (seed data, consumers …).
    With a registry URL the service also gets a discovery cache (``runtime.discovery``).
    ``verify_tokens`` builds ``runtime.verifier`` from ``jwks_url`` or, with a registry, from a
    healthy identity instance; identity itself passes False and sets its own.
    ``messaging`` builds ``runtime.messaging`` (outbox, relay, inbox consumer; needs a database and
    a NATS URL); the service subscribes its handlers in its lifespan and the chassis starts it
    after that, and adds ``GET /v1/admin/messaging`` for operators.
    ``tracing`` replaces the one built from ``otlp_endpoint`` (tests use an in-memory exporter).
    """
    configure_logging(settings.service_name, settings.instance_id,
                      level=settings.log_level, fmt=settings.log_format)
    metrics_registry = CollectorRegistry(auto_describe=True)
    runtime = Runtime(settings=settings, metrics_registry=metrics_registry,
                      http_metrics=HttpMetrics(metrics_registry, settings.service_name),
                      health=HealthChecks(), faults=FaultPoints(settings.fault_dir or None),
                      tracing=tracing or Tracing.from_settings(
                          settings.service_name, settings.instance_id, settings.otlp_endpoint,
                          settings.trace_sample_ratio))

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.callback(runtime.tracing.shutdown)  # flushes the spans still queued
            await _start_shared(runtime, stack, migrations, use_broker)
            _start_auth(runtime, verify_tokens)
            if messaging:
                _build_messaging(runtime)
            if lifespan is not None:
                await stack.enter_async_context(lifespan(app, runtime))
            if runtime.messaging is not None:
                await runtime.messaging.start()
                stack.push_async_callback(runtime.messaging.close)
            if register and settings.registry_url:
                runtime.registration = Registration(
                    settings.registry_url, service=settings.service_name,
                    instance_id=settings.instance_id, url=settings.advertise_url,
                    interval=settings.heartbeat_interval, metadata={"version": version})
                await runtime.registration.start()
                stack.push_async_callback(runtime.registration.stop)
            log.info("service started", url=settings.advertise_url)
            yield
            log.info("service stopping")

    # FastAPI's native OpenTelemetry stays off: it looked the global providers up (through
    # os.environ) on every request although nothing is configured
    app = FastAPI(title=title, version=version, description=description, lifespan=_lifespan,
                  docs_url="/docs", redoc_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.runtime = runtime
    install_problem_handlers(app, problems or {})
    app.add_middleware(RequestContextMiddleware, metrics=runtime.http_metrics,
                       tracing=runtime.tracing)
    _add_probes(app, runtime)
    if messaging:
        _add_messaging_admin(app)
    return app


def _build_messaging(runtime: Runtime) -> None:
    from chassis.messaging import Messaging

    if runtime.db is None or runtime.broker is None:
        raise RuntimeError("messaging needs a database URL and a NATS URL")
    runtime.messaging = Messaging(runtime.db, runtime.broker, runtime.settings.service_name,
                                  runtime.metrics_registry, runtime.faults,
                                  tracing=runtime.tracing)
    runtime.health.add("messaging", runtime.messaging.check)


def _add_messaging_admin(app: FastAPI) -> None:
    from fastapi import Depends

    from chassis.auth import Principal, require_role

    async def messaging_status(request: Request,
                               _: Principal = Depends(require_role("admin"))) -> Response:
        runtime: Runtime = request.app.state.runtime
        m = runtime.require_messaging()
        stats = await m.outbox_stats()
        try:
            consumers = await m.consumer_stats()
        except Exception as exc:  # NATS away: the database part is still worth showing
            consumers = {"error": str(exc) or type(exc).__name__}
        return JSONResponse({"service": runtime.settings.service_name,
                             "instance": runtime.settings.instance_id,
                             "outbox": {"pending": stats["pending"],
                                        "oldest_pending_age_s": stats["oldest_pending_age_s"],
                                        "queued_in_memory": m.relay.queued},
                             "dead_letters": stats["dead_letters"], "consumers": consumers})

    app.add_api_route("/v1/admin/messaging", messaging_status, methods=["GET"], tags=["operations"],
                      summary="Outbox, dead letters and consumer lag of this instance")


async def _start_shared(runtime: Runtime, stack: AsyncExitStack, migrations: Path | None,
                        use_broker: bool) -> None:
    settings = runtime.settings
    if settings.database_url:
        if migrations is not None:
            await migrate(settings.database_url, migrations)
        db: Database = open_database(settings.database_url)
        if runtime.tracing.enabled:
            db = TracedDatabase(db, runtime.tracing)
        await db.connect()
        stack.push_async_callback(db.close)
        runtime.db = db
        runtime.health.add("database", db.ping)
    if use_broker and settings.nats_url:
        from chassis.broker import Broker  # nats-py costs ~0.2 s to import; only when used

        broker = Broker(settings.nats_url, name=settings.instance_id)
        await broker.start()
        stack.push_async_callback(broker.close)
        runtime.broker = broker
        runtime.health.add("broker", broker.check)
    if settings.registry_url or settings.jwks_url:
        import aiohttp

        runtime.http = aiohttp.ClientSession()
        stack.push_async_callback(runtime.http.close)
    if settings.registry_url:
        assert runtime.http is not None
        runtime.discovery = Discovery(settings.registry_url, session=runtime.http)
        await runtime.discovery.start()
        stack.push_async_callback(runtime.discovery.close)


def _start_auth(runtime: Runtime, verify_tokens: bool) -> None:
    from chassis.auth import ServiceTokenClient, verifier_from_settings

    settings, discovery = runtime.settings, runtime.discovery
    if runtime.http is None:  # no registry and no JWKS URL: nowhere to get keys or tokens from
        return
    if verify_tokens and runtime.verifier is None:  # a verifier given before start-up stays
        runtime.verifier = verifier_from_settings(
            settings, runtime.http, discovery,
            audiences=[settings.jwt_audience, settings.jwt_internal_audience])
    if settings.service_secret and discovery is not None:
        def identity_url() -> str | None:
            instance = discovery.pick("identity")
            return None if instance is None else str(instance.url)

        runtime.service_tokens = ServiceTokenClient(
            runtime.http, service=settings.service_name, secret=settings.service_secret,
            identity_url=identity_url)


def _add_probes(app: FastAPI, runtime: Runtime) -> None:
    async def live() -> Response:
        return JSONResponse({"status": "alive", "instance": runtime.settings.instance_id})

    async def ready(request: Request) -> Response:
        ok, checks = await runtime.health.run()
        if ok:
            return JSONResponse({"status": "ready", "checks": checks})
        return problem_response(503, "not-ready", "a readiness check is failing",
                                instance=str(request.url.path), checks=checks)

    async def metrics() -> Response:
        return Response(render(runtime.metrics_registry), media_type=CONTENT_TYPE_LATEST)

    for path, endpoint in (("/health/live", live), ("/health/ready", ready), ("/metrics", metrics)):
        app.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)
