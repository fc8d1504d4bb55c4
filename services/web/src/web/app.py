"""Composition root of the web front end: settings → the chassis app, its session store,
identity and the service client it calls every other service with (on the signed-in user's
behalf), and the pruning of expired sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chassis import clock, create_service_app
from chassis.app import ServiceLifespan
from chassis.db import SqlUnitOfWork
from chassis.runtime import Runtime
from chassis.web import App
from web.adapters.console import SCRAPE_EVERY, Console
from web.adapters.identity import IdentityClient
from web.adapters.sql import SqlSessions
from web.entrypoints import auth, cart, console, orders, shop, static
from web.entrypoints.pages import error_page
from web.service.context import WebContext
from web.service.sessions import Sessions
from web.settings import WebSettings

__all__ = ["create_app"]

PRUNE_EVERY = 60.0  # seconds


def create_app(settings: WebSettings | None = None) -> App:
    """The web app (``settings`` default to the ``WEB_*`` environment)."""
    settings = settings or WebSettings.load()
    app = create_service_app(
        settings, title="Souk web",
        description="The storefront and the operations console: server-rendered pages behind "
                    "the gateway's root route, sessions kept server-side.",
        routers=[shop.router, cart.router, orders.router, auth.router, console.router,
                 static.router],
        lifespan=_bootstrap(settings))
    app.error_page = error_page  # a browser lost on the site gets a page, not problem+json
    return app


def _bootstrap(settings: WebSettings) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        # the registry is no instance of itself: the console reads it at its own address
        client = runtime.service_client(urls={"registry": settings.registry_url})
        sessions = Sessions(uow=SqlUnitOfWork(runtime.transaction, SqlSessions),
                            identity=IdentityClient(client),
                            signed_in_seconds=settings.session_hours * 3600,
                            anonymous_seconds=settings.anonymous_session_minutes * 60)
        app.provide(WebContext(sessions=sessions, client=client,
                               cookie_secure=settings.cookie_secure,
                               console_networks=settings.console_networks(),
                               chaos_experiments=settings.chaos_experiments))
        console = Console(client, runtime.broker)
        app.provide(console)
        # the console's RED comes from background rounds while someone watches it: a look at
        # the page reads the latest round instead of scraping every instance itself
        runtime.background.every(SCRAPE_EVERY, console.refresh, name="console-red")

        async def prune() -> None:
            await sessions.prune(clock.time())

        runtime.background.every(PRUNE_EVERY, prune, name="prune-sessions")
        yield

    return lifespan
