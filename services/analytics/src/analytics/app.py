"""Composition root of analytics: settings → the chassis app, its read models, consumer and
replays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from analytics.adapters.history import StreamHistory
from analytics.adapters.sql import SqlReadModels
from analytics.domain import errors
from analytics.entrypoints import http, messages
from analytics.service.context import AnalyticsContext
from analytics.service.replay import Replays
from analytics.settings import AnalyticsSettings
from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.db import SqlUnitOfWork
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from chassis.web import App

__all__ = ["PROBLEMS", "create_app"]

PROBLEMS: ProblemMap = {
    errors.StreamUnavailable: (503, "analytics/broker-unavailable"),
    errors.ReplayIncomplete: (503, "analytics/replay-incomplete"),
}


def create_app(settings: AnalyticsSettings | None = None) -> App:
    """The analytics app (``settings`` default to the ``ANALYTICS_*`` environment)."""
    settings = settings or AnalyticsSettings.load()
    return create_service_app(
        settings, description="Read models built only from orders' events; rebuildable by replay.",
        routers=[http.router], handlers=messages.handlers, problems=PROBLEMS,
        lifespan=_bootstrap(settings))


def _bootstrap(settings: AnalyticsSettings) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        uow = SqlUnitOfWork(runtime.transaction, SqlReadModels)
        history = StreamHistory(runtime.require_messaging().broker)
        app.provide(AnalyticsContext(uow=uow, replays=Replays(
            uow, history, batch_size=settings.replay_batch_size)))
        yield

    return lifespan
