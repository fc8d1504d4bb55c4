"""Running the gateway: start-up, listening, graceful shutdown — for ``python -m gateway`` and
for tests (which serve it in their own event loop on a free port)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

from chassis.logging import get_logger
from gateway.app import Gateway
from gateway.server import Limits, Server

__all__ = ["limits_from_settings", "run", "serving"]

log = get_logger(__name__)


def limits_from_settings(gateway: Gateway) -> Limits:
    """What clients may send, from the gateway's settings."""
    settings = gateway.settings
    return Limits(max_body_bytes=settings.max_body_bytes,
                  max_header_bytes=settings.max_header_bytes, max_headers=settings.max_headers,
                  keepalive_timeout=settings.keepalive_timeout,
                  request_timeout=settings.request_timeout)


@contextlib.asynccontextmanager
async def serving(gateway: Gateway, host: str, port: int) -> AsyncIterator[Server]:
    """Start the gateway, listen on ``host:port``; on exit stop accepting, let requests in flight
    finish (at most ``shutdown_timeout`` seconds) and close the gateway's resources."""
    await gateway.startup()
    try:
        server = Server(gateway.handle, limits_from_settings(gateway), gateway.refused)
        try:
            await server.listen(host, port)
            yield server
        finally:
            await server.shutdown(gateway.settings.shutdown_timeout)
    finally:
        await gateway.shutdown()


async def run(gateway: Gateway) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    settings = gateway.settings
    async with serving(gateway, settings.host, settings.port):
        log.info("gateway listening", host=settings.host, port=settings.port)
        await stop.wait()
        log.info("gateway draining", timeout=settings.shutdown_timeout)
