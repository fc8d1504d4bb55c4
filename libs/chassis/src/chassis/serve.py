"""Run a service app under uvicorn (uvloop + httptools), the way the launcher starts it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from chassis.problems import PROBLEM_JSON, problem_body
from chassis.settings import ServiceSettings
from chassis.web.faults import DROP_EXTENSION

__all__ = ["ProblemHttpProtocol", "serve"]

S = TypeVar("S", bound=ServiceSettings)


class _OneWrite:
    """A served connection's transport that sends an answer's head together with its body.

    uvicorn writes the status line and headers, then the body: two ``send()`` calls per answer,
    and on the caller's side as often as not two reads and two wake-ups of its event loop before
    it has the whole answer. The head is held here until the next write (the body, which the
    chassis's responses send at once) and both go in one; a head whose body does not follow
    within the same turn of the event loop (a stream that waits for its first event) is sent
    alone at the next turn, and nothing ever overtakes it."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
        elif data.startswith(b"HTTP/1.1 ") and not data.startswith(b"HTTP/1.1 100 "):
            self._held = data
            self._loop.call_soon(self._release)
        else:
            self._transport.write(data)

    def _release(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():  # an aborted connection sends nothing more
                self._transport.write(held)

    def close(self) -> None:
        self._release()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # the rest of the transport as it is
        return getattr(self._transport, name)


class ProblemHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, except that a request that is not valid HTTP (which never
    reaches the app) is refused with problem+json like every other error, not in plain text,
    that an answer's head and body go in one write (:class:`_OneWrite`), and that the app can
    close a request's connection without an answer (an injected fault,
    ``chassis.web.faults``): ``scope["extensions"]["souk.drop"]["abort"]()``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_OneWrite(transport, self.loop))  # type: ignore[arg-type]
        self._extensions: dict[str, dict[object, object]] = {
            DROP_EXTENSION: {"abort": transport.abort}}

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = self._extensions

    def send_400_response(self, msg: str) -> None:
        body = problem_body(400, "bad-request", msg)
        self.transport.write(b"".join((
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: ", PROBLEM_JSON.encode(),
            b"\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body), body)))
        self.transport.close()


def serve(factory: Callable[[S], Any], settings: S) -> None:
    """Build the app from ``settings`` and serve it until SIGTERM/SIGINT (graceful shutdown).

    Migrations run first, in a child process (see :func:`chassis.db.migrate.migrate_isolated`),
    so the start-up inside finds the schema at head. uvicorn's own ``X-Forwarded-For`` support
    stays off: it believes any local peer; a handler that needs the client's address takes a
    :class:`chassis.web.ClientAddress`, which believes only the authenticated gateway.
    """
    app = factory(settings)
    migrations = getattr(app, "migrations", None)
    if migrations is not None and settings.database_url:
        from chassis.db.migrate import migrate_isolated

        asyncio.run(migrate_isolated((settings.database_url, migrations)))
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, loop="uvloop", http=ProblemHttpProtocol,
        lifespan="on", log_config=None, access_log=False, server_header=False,
        proxy_headers=False, timeout_graceful_shutdown=5,
        timeout_keep_alive=30)
    uvicorn.Server(config).run()
