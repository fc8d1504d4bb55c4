"""Run a service app under uvicorn (uvloop + httptools), the way the launcher starts it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn

from chassis.settings import ServiceSettings

__all__ = ["serve"]

S = TypeVar("S", bound=ServiceSettings)


def serve(factory: Callable[[S], Any], settings: S, *, trust_forwarded: bool = True) -> None:
    """Build the app from ``settings`` and serve it until SIGTERM/SIGINT (graceful shutdown).

    ``trust_forwarded`` lets uvicorn take the client address from ``X-Forwarded-For`` sent by a
    local peer (the gateway). The edge itself must pass False, or any local client could claim
    any address.
    """
    app = factory(settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, loop="uvloop", http="httptools",
        lifespan="on", log_config=None, access_log=False, server_header=False,
        proxy_headers=trust_forwarded, timeout_graceful_shutdown=5, timeout_keep_alive=30)
    uvicorn.Server(config).run()
