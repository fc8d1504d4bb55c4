"""One client request as the gateway sees it, and how its answer goes back.

A :class:`Request` is made by the server (:mod:`gateway.connection`) once the whole request has
arrived: head parsed, body (at most the size limit) buffered. Its answer is written through the
request: :meth:`Request.respond` for a known body (head and body in ONE write, the largest single
saving on a proxy's CPU per request), or :meth:`Request.start` / :meth:`Request.write` /
:meth:`Request.end` for a streamed one (server-sent events, large downloads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson

from chassis.problems import PROBLEM_JSON, Problem, problem_body

if TYPE_CHECKING:
    from gateway.connection import Connection

__all__ = ["CLIENT_GONE", "NOTABLE", "ClientGone", "Headers", "Request", "status_line"]

Headers = list[tuple[bytes, bytes]]

# headers the gateway itself reads: the server notes their first values as it parses
NOTABLE = frozenset({b"authorization", b"content-length", b"expect", b"host", b"origin",
                     b"upgrade", b"x-request-id"})

_JSON = b"application/json"
_PROBLEM = PROBLEM_JSON.encode()


class ClientGone(Exception):
    """The client disconnected before the gateway could answer; there is no one to reply to."""


CLIENT_GONE = 499  # the status counted then: nginx's "client closed request", never sent


_REASONS = {100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
            301: "Moved Permanently", 302: "Found", 304: "Not Modified", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
            413: "Content Too Large", 414: "URI Too Long", 422: "Unprocessable Content",
            429: "Too Many Requests", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}
_STATUS_LINES: dict[int, bytes] = {}


def _standard_reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase  # 303 See Other from the front end, 307, 410 …
    except ValueError:
        return ""  # a status no standard names: the reason phrase may be empty (RFC 9112)


def status_line(status: int) -> bytes:
    """``HTTP/1.1 <status> <reason>\\r\\n`` (cached)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        reason = _REASONS.get(status) or _standard_reason(status)
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {reason}\r\n".encode("ascii")
    return line


class Request:
    """A parsed request (names of headers lower-case, values as received) and its answer."""

    __slots__ = ("body", "chunked", "client", "conn", "cors", "gone", "headers", "http_version",
                 "keep_alive", "method", "notable", "on_disconnect", "path", "query", "raw_path",
                 "responded", "scheme", "status", "streaming", "trace_kept", "user")

    def __init__(self, method: str, raw_path: str, query: bytes, headers: Headers,
                 client: str | None, http_version: str = "1.1", keep_alive: bool = True,
                 body: bytes = b"", conn: Connection | None = None, path: str | None = None,
                 scheme: str = "http", notable: dict[bytes, bytes] | None = None) -> None:
        self.method = method
        self.raw_path = raw_path  # as the client sent it
        # canonical once routed (gateway.routes.canonical_path): what the edge matched and sent
        self.path = raw_path if path is None else path
        self.query = query
        self.headers = headers
        # the first value of each NOTABLE header present (found while parsing)
        self.notable = ({n: v for n, v in reversed(headers) if n in NOTABLE}
                        if notable is None else notable)
        self.client = client  # the socket peer's address: never a header a client could forge
        self.http_version = http_version
        self.keep_alive = keep_alive
        self.body = body
        self.scheme = scheme
        self.conn = conn
        self.user: str | None = None  # the verified subject, set by authentication
        self.status = 0  # of the answer, once started
        self.responded = False  # the head went out
        self.streaming = False  # a body is being streamed (not ended yet)
        self.chunked = False
        self.gone = False  # the client went away
        self.on_disconnect: Callable[[], None] | None = None
        self.trace_kept = False  # the upstream said the trace is kept (souk-trace-keep)
        self.cors = b""  # header lines every answer carries (gateway.cors: an allowed origin)

    def header(self, name: bytes) -> bytes | None:
        """The first value of a (lower-case) header, or None."""
        if name in NOTABLE:
            return self.notable.get(name)
        for key, value in self.headers:
            if key == name:
                return value
        return None

    # -- answering --

    def respond(self, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> None:
        """The whole answer in one write; ``headers`` must frame ``body`` (Content-Length)."""
        self.status = status
        self.responded = True
        if self.conn is not None:
            self.conn.send_response(self, status, headers, body)

    def respond_lines(self, status: int, lines: bytes, body: bytes) -> None:
        """:meth:`respond` with the header lines already in wire format (the relay's hot path)."""
        self.status = status
        self.responded = True
        if self.conn is not None:
            self.conn.send_lines(self, status, lines, body)

    def respond_bytes(self, status: int, body: bytes, content_type: bytes,
                      headers: Iterable[tuple[bytes, bytes]] = ()) -> int:
        """Answer ``body`` with its type and length; return the status."""
        self.respond(status, [(b"content-type", content_type),
                              (b"content-length", b"%d" % len(body)), *headers], body)
        return status

    def respond_json(self, status: int, doc: Any,
                     headers: Iterable[tuple[bytes, bytes]] = ()) -> int:
        """Answer ``doc`` as ``application/json``."""
        return self.respond_bytes(status, orjson.dumps(doc), _JSON, headers)

    def respond_problem(self, problem: Problem,
                        headers: Iterable[tuple[bytes, bytes]] = ()) -> int:
        """Answer a :class:`~chassis.problems.Problem` as RFC 9457 problem+json."""
        body = problem_body(problem.status, problem.slug, problem.detail, title=problem.title,
                            instance=self.path, **problem.extensions)
        extra = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                 for k, v in problem.headers.items()]
        return self.respond_bytes(problem.status, body, _PROBLEM, [*headers, *extra])

    def start(self, status: int, headers: Iterable[tuple[bytes, bytes]],
              length: int | None) -> None:
        """Send the head of a streamed answer: ``length`` bytes, or chunked when None."""
        self.status = status
        self.responded = True
        self.streaming = True
        if self.conn is not None:
            self.conn.start_response(self, status, headers, length)

    def write(self, data: bytes) -> None:
        """Part of a streamed body."""
        if self.conn is not None and data:
            self.conn.write_body(self, data)

    async def drain(self) -> None:
        """Wait while the client reads slower than the body arrives; :class:`ClientGone`
        once it disconnected."""
        if self.gone:
            raise ClientGone
        if self.conn is not None:
            await self.conn.drain()
            if self.gone:
                raise ClientGone

    def end(self) -> None:
        """The streamed body is complete."""
        self.streaming = False
        if self.conn is not None:
            self.conn.end_body(self)

    def finish(self) -> None:
        """The handler is done: the connection moves on to the next request (or closes). An
        unanswered request gets a 500 problem; a streamed body not ended closes the connection."""
        if self.conn is not None:
            self.conn.finished(self)
