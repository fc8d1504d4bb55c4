"""Composition root of the registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from fastapi import FastAPI

from chassis import create_service_app
from chassis.runtime import Runtime
from registry.adapters.prober import HttpProber
from registry.adapters.store import SqlInstanceStore
from registry.domain.directory import Directory, UnknownInstance
from registry.entrypoints.http import router
from registry.service.registry import RegistryService
from registry.settings import RegistrySettings

__all__ = ["create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            registry = RegistryService(
                Directory(ttl=settings.ttl, failure_threshold=settings.failure_threshold),
                SqlInstanceStore(runtime.require_db()), HttpProber(session, settings.check_timeout),
                check_interval=settings.check_interval)
            await registry.start()
            runtime.extras["registry"] = registry
            try:
                yield
            finally:
                await registry.stop()

    app = create_service_app(
        settings, title="Souk registry",
        description="Live service instances: register, heartbeat, health, watch, Prometheus SD.",
        problems={UnknownInstance: (404, "registry/unknown-instance")},
        migrations=MIGRATIONS, lifespan=lifespan, use_broker=False)
    app.include_router(router)
    return app
