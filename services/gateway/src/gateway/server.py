"""The gateway's own HTTP/1.1 server: listening, the once-a-second ticker (the ``Date`` line,
idle and slow connections) and graceful shutdown. Each client connection is a
:class:`~gateway.connection.Connection`.

Why not uvicorn + ASGI: every proxied request paid for ASGI message dicts, a ``receive``/``send``
pair and two socket writes per response; here a request is parsed straight into a
:class:`~gateway.request.Request` and its answer leaves in one write.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
from collections.abc import Callable

from chassis.http.h1 import WriteBatch
from gateway.connection import Connection, Handler, Limits

__all__ = ["Connection", "Handler", "Limits", "Server"]


class Server:
    """Listens, keeps the ``Date`` line and the per-connection timers, shuts down gracefully."""

    def __init__(self, handler: Handler, limits: Limits | None = None,
                 refused: Callable[[str, int], None] | None = None) -> None:
        self.handler = handler
        # told of each request refused before it reached the handler (method, status): a
        # malformed request, a head or URL too large, a WebSocket upgrade
        self.refused = refused or _ignore
        self.limits = limits or Limits()
        self.loop = asyncio.get_running_loop()
        self.connections: set[Connection] = set()
        self.date_line = b""
        self.emptied = asyncio.Event()  # set when the last connection closes
        # answers of one loop turn leave together, with the upstream requests of that turn
        self.batch = WriteBatch.of(self.loop)
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.TimerHandle | None = None
        self._tick()

    async def listen(self, host: str, port: int) -> int:
        """Start accepting on ``host:port``; return the port (useful with port 0)."""
        self._server = await self.loop.create_server(
            lambda: Connection(self), host, port, reuse_address=True, backlog=2048)
        return int(self._server.sockets[0].getsockname()[1])

    def _tick(self) -> None:
        self.date_line = b"date: " + email.utils.formatdate(usegmt=True).encode() + b"\r\n"
        for conn in list(self.connections):
            conn.tick()
        self._ticker = self.loop.call_later(1.0, self._tick)

    async def shutdown(self, timeout: float = 10.0) -> None:
        """Stop accepting, close idle connections, let requests in flight finish (at most
        ``timeout`` seconds), then close whatever is left."""
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.closing = True
            if conn.active is None and conn.receiving_ticks < 0:
                conn._close()
        if self.connections:
            self.emptied.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.emptied.wait()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
        if self._ticker is not None:
            self._ticker.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1):
                    await self._server.wait_closed()


def _ignore(method: str, status: int) -> None:
    pass
