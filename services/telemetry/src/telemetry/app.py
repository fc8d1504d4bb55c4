"""Composition root of telemetry: settings → chassis app, problem map, trace store, pruning."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.logging import get_logger
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from telemetry.adapters.sql import SqlUnitOfWork
from telemetry.domain.errors import InvalidCursor, InvalidExport, InvalidTraceId, TraceNotFound
from telemetry.entrypoints import http
from telemetry.service.pruning import prune
from telemetry.settings import TelemetrySettings

__all__ = ["MIGRATIONS", "PROBLEMS", "create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"

PROBLEMS: ProblemMap = {
    InvalidExport: (400, "telemetry/invalid-export"),
    InvalidTraceId: (400, "telemetry/invalid-trace-id"),
    InvalidCursor: (400, "telemetry/invalid-cursor"),
    TraceNotFound: (404, "telemetry/trace-not-found"),
}

log = get_logger(__name__)


def create_app(settings: TelemetrySettings | None = None) -> FastAPI:
    settings = settings or TelemetrySettings()
    app = create_service_app(
        settings, title="Souk telemetry",
        description="OTLP/HTTP trace receiver and trace search (embedded default only; in "
                    "production a collector such as Jaeger or Tempo takes its place).",
        problems=PROBLEMS, migrations=MIGRATIONS, lifespan=_store_and_pruning(settings),
        use_broker=False)
    app.include_router(http.router)
    return app


def _store_and_pruning(settings: TelemetrySettings) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
        store = SqlUnitOfWork(runtime.require_db())
        app.state.trace_store = store
        task = asyncio.create_task(_prune_forever(store, settings), name="telemetry-prune")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan


async def _prune_forever(store: SqlUnitOfWork, settings: TelemetrySettings) -> None:
    while True:
        try:
            deleted = await prune(store, max_traces=settings.max_traces,
                                  max_age_ns=int(settings.max_age_seconds * 1e9),
                                  now_ns=time.time_ns())
            if deleted:
                log.info("traces pruned", deleted=deleted)
        except Exception as exc:  # the database may be away for a moment; try again next time
            log.warning("pruning failed", error=str(exc) or type(exc).__name__)
        await asyncio.sleep(settings.prune_interval_seconds)
