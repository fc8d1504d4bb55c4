"""One client connection of the gateway's HTTP/1.1 server: an ``asyncio.Protocol`` parsed by
httptools; the handler is called synchronously and says when it is done.

What the connection enforces before the handler sees anything: the head's size and header count
(431), the URL length (414), the body size (413, checked on ``Content-Length`` before any byte is
read and counted for chunked bodies), malformed requests (400), all as problem+json; then
``Expect: 100-continue``, HTTP/1.0 keep-alive, ``Connection: close``, pipelined requests answered
in order, an idle keep-alive timeout and a time limit for receiving a request. Timers are one
ticker per server, not one per request.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser

from chassis.http.h1 import WriteBatch
from chassis.logging import get_logger
from chassis.problems import Problem
from gateway.request import NOTABLE, Headers, Request, status_line

if TYPE_CHECKING:
    from chassis.auth import Claims

__all__ = ["Connection", "Handler", "Limits", "ServerLike"]

log = get_logger(__name__)

# Called with each whole request, in the connection's callback; answers now or later (from its own
# callbacks or tasks) and then calls ``request.finish()``. A handler that needs to await simply
# starts a task: most requests need none, and a task per request was a tenth of the CPU.
Handler = Callable[[Request], None]

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_CLOSE = b"connection: close\r\n"
_KEEP_ALIVE = b"connection: keep-alive\r\n"
_CHUNKED = b"transfer-encoding: chunked\r\n"
_LAST_CHUNK = b"0\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Limits:
    """What a client may send, and for how long a connection may sit idle."""

    max_body_bytes: int = 1024 * 1024
    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    max_url_bytes: int = 8 * 1024
    keepalive_timeout: float = 30.0
    request_timeout: float = 30.0


class _Refused(Exception):
    """Raised from a parser callback: answer this problem and close the connection."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail)
        self.problem = problem


class ServerLike(Protocol):
    """What a connection needs of its :class:`~gateway.server.Server`."""

    handler: Handler
    refused: Callable[[str, int], None]
    limits: Limits
    loop: asyncio.AbstractEventLoop
    connections: set[Connection]
    emptied: asyncio.Event
    date_line: bytes
    batch: WriteBatch


class Connection(asyncio.Protocol):
    """One client connection: parses requests, runs the handler for one at a time, writes the
    answers in order."""

    def __init__(self, server: ServerLike) -> None:
        self.server = server
        self.limits = limits = server.limits
        self._max_head = limits.max_header_bytes
        self._max_headers = limits.max_headers
        self.parser = HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.client: str | None = None
        self.closed = False
        self.closing = False  # answer what is in flight, then close
        self.active: Request | None = None
        self.queue: collections.deque[Request] = collections.deque()
        self.idle_ticks = 0
        self.receiving_ticks = -1  # ticks since a request began arriving; -1: none is
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._notable: dict[bytes, bytes] = {}  # first values of NOTABLE headers
        self._head_size = 0
        self._body: list[bytes] = []
        self._body_size = 0
        self._request: Request | None = None
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None
        # what the edge's steps remember between the requests of this connection: a keep-alive
        # client sends the same headers each time (gateway.headers.upstream_request_block)
        self.forward_memo: tuple[Headers, frozenset[bytes], bytes] | None = None
        # (authenticator, Authorization header, its claims, the key withdrawals then)
        self.auth_memo: tuple[object, bytes, Claims, int] | None = None

    # -- transport callbacks --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if isinstance(peer, tuple) and peer else None
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        connections = self.server.connections
        connections.discard(self)
        if not connections:
            self.server.emptied.set()
        for request in (self.active, *self.queue):
            if request is not None:
                request.gone = True
        active = self.active
        if active is not None and active.on_disconnect is not None:
            active.on_disconnect()
        self._wake_drained()

    def data_received(self, data: bytes) -> None:
        self.idle_ticks = 0
        try:
            self.parser.feed_data(data)
        except HttpParserUpgrade:
            self._upgraded()
        except HttpParserError as exc:
            refused = exc.__context__
            if isinstance(refused, _Refused):
                self._refuse(refused.problem)
            else:
                self._refuse(Problem(400, "gateway/bad-request",
                                     f"malformed HTTP request: {exc}".rstrip(": ")))

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_drained()

    # -- httptools callbacks --

    # (no on_message_begin: one Python call fewer per request; on_url starts each message, and
    # on_message_complete leaves the state ready for the next)

    def on_url(self, url: bytes) -> None:
        if self.receiving_ticks < 0:  # the first piece of a new request
            self.receiving_ticks = 0
            self._url = url
        else:
            self._url += url
        if len(self._url) > self.limits.max_url_bytes:
            raise _Refused(Problem(414, "gateway/uri-too-long",
                                   f"the URL exceeds {self.limits.max_url_bytes} bytes"))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        headers = self._headers
        if self._head_size > self._max_head or len(headers) >= self._max_headers:
            raise _Refused(Problem(431, "gateway/headers-too-large",
                                   f"at most {self.limits.max_headers} headers and "
                                   f"{self.limits.max_header_bytes} bytes of them"))
        name = name.lower()
        headers.append((name, value))
        if name in NOTABLE:
            if name not in self._notable:
                self._notable[name] = value
            elif name == b"host":  # RFC 9112 3.2: which authority was meant is unknowable
                raise _Refused(Problem(400, "gateway/bad-request",
                                       "the request has more than one Host header"))

    def on_headers_complete(self) -> None:
        parser = self.parser
        url = self._url
        raw_path, _, query = url.partition(b"?")
        if not raw_path.startswith(b"/"):
            raw_path = self._origin_form(raw_path)
        raw = raw_path.decode("latin-1")
        notable = self._notable
        version = parser.get_http_version()
        if version not in ("1.1", "1.0"):  # the parser lets HTTP/2.0 and HTTP/0.9 lines by
            raise _Refused(Problem(400, "gateway/bad-request",
                                   f"HTTP/{version} in an HTTP/1 message: this server speaks "
                                   "HTTP/1.1 and HTTP/1.0"))
        if b"host" not in notable and version == "1.1":  # RFC 9112 3.2
            raise _Refused(Problem(400, "gateway/bad-request",
                                   "an HTTP/1.1 request needs a Host header"))
        # positional: the keyword form cost more than some of the gateway's steps
        request = self._request = Request(
            parser.get_method().decode("ascii"), raw, query, self._headers, self.client,
            version, parser.should_keep_alive(), b"", self, raw, "http", notable)
        if len(notable) == 1 and b"host" in notable:  # nothing more to look at: the usual case
            return
        upgrade = notable.get(b"upgrade")
        if (upgrade is not None and upgrade.lower() == b"websocket"
                and parser.should_upgrade()):
            raise _Refused(Problem(403, "gateway/websocket-unsupported",
                                   "WebSocket connections are not proxied"))
        declared = notable.get(b"content-length")
        if declared is not None and int(declared) > self.limits.max_body_bytes:
            raise _Refused(_too_large(self.limits.max_body_bytes))
        expect = notable.get(b"expect")
        if (expect is not None and expect.lower() == b"100-continue"
                and request.http_version == "1.1" and self.active is None and not self.queue):
            self._write(_CONTINUE)  # the client waits for this before sending the body

    def _origin_form(self, target: bytes) -> bytes:
        """The path of an absolute-form target (``http://shop.example/api/v1/…``), which a
        server must accept (RFC 9112 3.2.2); its authority replaces the Host header, as the RFC
        has a proxy do. Anything else that is not a path ('*', another scheme, userinfo) is a
        400."""
        scheme, sep, rest = target.partition(b"://")
        authority, _, path = rest.partition(b"/")
        if (not sep or scheme.lower() not in (b"http", b"https") or not authority
                or b"@" in authority):
            raise _Refused(Problem(400, "gateway/bad-request",
                                   "the target must be a path or an http(s) URL"))
        self._notable[b"host"] = authority
        self._headers = [h for h in self._headers if h[0] != b"host"]
        self._headers.append((b"host", authority))
        return b"/" + path

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > self.limits.max_body_bytes:
            raise _Refused(_too_large(self.limits.max_body_bytes))
        self._body.append(body)

    def on_message_complete(self) -> None:
        request = self._request
        if request is None:
            return
        self._request = None
        self.receiving_ticks = -1
        self._headers = []
        self._notable = {}
        self._head_size = 0
        body = self._body
        if body:
            request.body = body[0] if len(body) == 1 else b"".join(body)
            self._body = []
            self._body_size = 0
        if self.active is None:
            self._start(request)
        else:  # pipelined: answered in order; stop reading until the queue empties
            self.queue.append(request)
            if self.transport is not None:
                self.transport.pause_reading()

    # -- running the handler --

    def _start(self, request: Request) -> None:
        self.active = request
        try:
            self.server.handler(request)
        except Exception:
            log.exception("unhandled error in the request handler", path=request.path)
            request.finish()

    def finished(self, request: Request) -> None:
        """The handler is done with ``request`` (:meth:`Request.finish`)."""
        if request is not self.active:
            return
        if not request.responded:
            request.respond_problem(Problem(500, "gateway/internal-error",
                                            "the request was not answered"))
        elif request.streaming:  # broke off mid-body: only closing tells the client
            request.keep_alive = False
        self.active = None
        if self.closed:
            return
        if not request.keep_alive or self.closing:
            self._close()
            return
        if self.queue:
            self._start(self.queue.popleft())
            if not self.queue and self.transport is not None:
                self.transport.resume_reading()

    # -- writing --

    def _head(self, request: Request, status: int, headers: Iterable[tuple[bytes, bytes]],
              extra: bytes) -> bytes:
        if not request.keep_alive or self.closing:
            request.keep_alive = False
            extra += _CLOSE
        elif request.http_version == "1.0":
            extra += _KEEP_ALIVE
        return b"".join([status_line(status), self.server.date_line,
                         *[name + b": " + value + b"\r\n" for name, value in headers],
                         request.cors, extra, b"\r\n"])

    def send_response(self, request: Request, status: int,
                      headers: Iterable[tuple[bytes, bytes]], body: bytes) -> None:
        head = self._head(request, status, headers, b"")
        if request.method == "HEAD" or status in (204, 304):
            self._write(head)
        else:
            self._write(head + body)

    def send_lines(self, request: Request, status: int, lines: bytes, body: bytes) -> None:
        if request.cors:
            lines += request.cors
        if not request.keep_alive or self.closing:
            request.keep_alive = False
            lines += _CLOSE
        elif request.http_version == "1.0":
            lines += _KEEP_ALIVE
        if request.method == "HEAD" or status in (204, 304):
            body = b""
        self._write(b"".join((status_line(status), self.server.date_line, lines, b"\r\n", body)))

    def start_response(self, request: Request, status: int,
                       headers: Iterable[tuple[bytes, bytes]], length: int | None) -> None:
        extra = b""
        if length is None and request.method != "HEAD":
            if request.http_version == "1.1":
                request.chunked = True
                extra = _CHUNKED
            else:  # HTTP/1.0 has no chunks: the end of the connection ends the body
                request.keep_alive = False
        self._write(self._head(request, status, headers, extra))

    def write_body(self, request: Request, data: bytes) -> None:
        if request.method == "HEAD":
            return
        if request.chunked:
            self._write(b"%x\r\n" % len(data) + data + b"\r\n")
        else:
            self._write(data)

    def end_body(self, request: Request) -> None:
        if request.chunked and request.method != "HEAD":
            self._write(_LAST_CHUNK)

    async def drain(self) -> None:
        if self._write_paused and not self.closed:
            self._drained = self.server.loop.create_future()
            await self._drained

    def _write(self, data: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.server.batch.write(self.transport, data)

    def _wake_drained(self) -> None:
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)
        self._drained = None

    # -- ending --

    def _refuse(self, problem: Problem) -> None:
        """Answer a request that cannot be parsed or served, then close (lingering)."""
        if self.closed:
            return
        if self.active is not None:  # answer what is in flight, then close
            self.closing = True
            self.parser = _Discard()  # type: ignore[assignment]
            return
        request = self._request or Request("GET", "/", b"", [], self.client, conn=self)
        request.keep_alive = False
        self.server.refused(request.method, request.respond_problem(problem))
        self._linger()

    def _upgraded(self) -> None:
        # The parser stops after an Upgrade request (other than a WebSocket one, refused in
        # on_headers_complete): it is answered as a plain request, since Upgrade is hop-by-hop,
        # and the connection closes after it.
        if self.transport is not None:
            self.transport.pause_reading()
        last = self.queue[-1] if self.queue else self.active
        if last is not None:
            last.keep_alive = False
        else:
            self._close()

    def _linger(self) -> None:
        # Closing at once while the client still sends its body would reset the connection
        # and destroy the answer before the client reads it: stop writing, drain what comes
        # for a moment, then close.
        transport = self.transport
        if transport is None or self.closed:
            return
        self.parser = _Discard()  # type: ignore[assignment]
        self.server.batch.flush()
        with contextlib.suppress(OSError, RuntimeError):
            if transport.can_write_eof():
                transport.write_eof()
        self.server.loop.call_later(2.0, self._close)

    def _close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.server.batch.flush()
            self.transport.close()

    def tick(self) -> None:
        """Once a second: close an idle keep-alive connection, or one too slow to send its
        request."""
        if self.active is not None or self.closed:
            return
        if self.receiving_ticks >= 0:
            self.receiving_ticks += 1
            if self.receiving_ticks > self.limits.request_timeout:
                self._refuse(Problem(408, "gateway/request-timeout",
                                     "the request did not arrive in time"))
            return
        self.idle_ticks += 1
        if self.idle_ticks > self.limits.keepalive_timeout or self.closing:
            self._close()


class _Discard:
    """The parser of a connection that is lingering before it closes: drops everything."""

    def feed_data(self, data: bytes) -> None:
        return None


def _too_large(limit: int) -> Problem:
    return Problem(413, "gateway/request-too-large",
                   f"the request body exceeds the limit of {limit} bytes", limit=limit)
