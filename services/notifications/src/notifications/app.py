"""Composition root of notifications: settings → the chassis app, its mailbox and consumer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.db import SqlUnitOfWork
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from chassis.web import App
from notifications.adapters.sql import SqlMailbox
from notifications.entrypoints import http, messages
from notifications.service.context import NotificationsContext
from notifications.settings import NotificationsSettings

__all__ = ["PROBLEMS", "create_app"]

# no domain errors reach the edge: a bad cursor is the chassis's (400 invalid-cursor)
PROBLEMS: ProblemMap = {}


def create_app(settings: NotificationsSettings | None = None) -> App:
    """The notifications app (``settings`` default to the ``NOTIFICATIONS_*`` environment)."""
    settings = settings or NotificationsSettings.load()
    return create_service_app(
        settings, description="Customers' mailboxes: one message when an order is confirmed or cancelled.",
        routers=[http.router], handlers=messages.handlers, problems=PROBLEMS,
        lifespan=_bootstrap())


def _bootstrap() -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        app.provide(NotificationsContext(uow=SqlUnitOfWork(runtime.transaction, SqlMailbox)))
        yield

    return lifespan
