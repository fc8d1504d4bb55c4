"""Composition root of the registry: settings → the directory, its database, the health prober,
the background rounds, and the chassis app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.auth import ServiceCredentials
from chassis.db import SqlUnitOfWork
from chassis.logging import get_logger
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from chassis.web import App
from registry.adapters.prober import HttpProber
from registry.adapters.sql import SqlInstances
from registry.domain.directory import Directory, NotYourInstance, UnknownInstance
from registry.entrypoints import http
from registry.service.registry import RegistryService
from registry.settings import RegistrySettings

__all__ = ["PROBLEMS", "create_app"]

PROBLEMS: ProblemMap = {UnknownInstance: (404, "registry/unknown-instance"),
                        NotYourInstance: (403, "registry/not-your-instance")}

log = get_logger(__name__)


def create_app(settings: RegistrySettings | None = None) -> App:
    settings = settings or RegistrySettings.load()
    return create_service_app(
        settings, description="Live service instances: register, heartbeat, active health checks, a "
                              "long-poll watch, Prometheus HTTP service discovery.",
        routers=[http.router], problems=PROBLEMS,
        lifespan=_bootstrap(settings))  # the broker (started first) carries its live settings


def _bootstrap(settings: RegistrySettings) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        # health checks probe one exact instance URL, once per round: the service client
        # (discovery by name, retries, a breaker) would hide exactly what they look for
        async with aiohttp.ClientSession() as session:
            registry = RegistryService(
                Directory(ttl=settings.ttl, failure_threshold=settings.failure_threshold,
                          keep_gone=settings.keep_gone),
                SqlUnitOfWork(runtime.transaction, SqlInstances),
                HttpProber(session, settings.check_timeout))
            await registry.restore()
            app.provide(registry)
            credentials = ServiceCredentials.load(settings.service_credentials_file)
            if not credentials:
                log.warning("no service credentials configured: every registration is refused")
            app.provide(credentials)
            runtime.background.every(settings.check_interval, registry.check_all,
                                     name="health-checks")
            runtime.background.every(min(1.0, settings.ttl / 4), registry.evict_expired,
                                     name="eviction")
            yield

    return lifespan
