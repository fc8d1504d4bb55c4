"""Composition root of analytics: settings → chassis app with messaging, handlers, router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from analytics.entrypoints import consumers, http
from analytics.settings import AnalyticsSettings
from chassis import create_service_app
from chassis.runtime import Runtime

__all__ = ["MIGRATIONS", "create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    settings = settings or AnalyticsSettings()
    app = create_service_app(
        settings, title="Souk analytics",
        description="Read models built only from orders' events; rebuildable by replay.",
        problems={}, migrations=MIGRATIONS, lifespan=_subscribe, messaging=True)
    app.include_router(http.router)
    return app


@asynccontextmanager
async def _subscribe(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
    runtime.require_messaging().subscribe(consumers.HANDLERS)
    yield
