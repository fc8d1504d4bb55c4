"""Composition root of notifications: settings → chassis app with messaging, handlers, router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from chassis import create_service_app
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from notifications.domain.errors import InvalidCursor
from notifications.entrypoints import consumers, http
from notifications.settings import NotificationsSettings

__all__ = ["MIGRATIONS", "PROBLEMS", "create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"

PROBLEMS: ProblemMap = {
    InvalidCursor: (400, "notifications/invalid-cursor"),
}


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    app = create_service_app(
        settings, title="Souk notifications",
        description="Customers' mailboxes: one message when an order is confirmed or cancelled.",
        problems=PROBLEMS, migrations=MIGRATIONS, lifespan=_subscribe, messaging=True)
    app.include_router(http.router)
    return app


@asynccontextmanager
async def _subscribe(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
    runtime.require_messaging().subscribe(consumers.handlers(runtime.require_db().dialect))
    yield
