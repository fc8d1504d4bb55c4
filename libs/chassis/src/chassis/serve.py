"""Run a service app under uvicorn (uvloop + httptools), the way the launcher starts it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn

from chassis.settings import ServiceSettings

__all__ = ["serve"]

S = TypeVar("S", bound=ServiceSettings)


def serve(factory: Callable[[S], Any], settings: S, *, trust_forwarded: bool = True) -> None:
    """Build the app from ``settings`` and serve it until SIGTERM/SIGINT (graceful shutdown).

    Migrations run first, in a child process (see :func:`chassis.db.migrate.migrate_isolated`),
    so the start-up inside finds the schema at head. ``trust_forwarded`` lets uvicorn take the
    client address from ``X-Forwarded-For`` sent by a local peer (the gateway).
    """
    app = factory(settings)
    migrations = getattr(app, "migrations", None)
    if migrations is not None and settings.database_url:
        from chassis.db.migrate import migrate_isolated

        asyncio.run(migrate_isolated(settings.database_url, migrations))
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, loop="uvloop", http="httptools",
        lifespan="on", log_config=None, access_log=False, server_header=False,
        proxy_headers=trust_forwarded, timeout_graceful_shutdown=5,
        timeout_keep_alive=30)
    uvicorn.Server(config).run()
