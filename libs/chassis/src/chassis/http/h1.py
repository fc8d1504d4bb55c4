"""A lean HTTP/1.1 client: ``asyncio.Protocol`` connections parsed by httptools, kept alive in
a pool per origin.

Built for the gateway's data path, where aiohttp's per-request machinery cost more CPU than the
whole hop may (measured here: a pooled aiohttp proxy ~88 µs per request, Envoy ~40). A request
is one ``write`` (head and body together); a response with a known, small body is handed over
whole once it is complete (one wake-up per exchange); any other body streams with back-pressure
(reading pauses while the consumer lags). Timeouts are checked by one coarse ticker per pool
instead of a timer per request.

* :class:`H1Pool` — connections per ``(host, port)``; :meth:`H1Pool.request` sends a prepared
  head and body and returns an :class:`H1Response` (whole, or streaming via
  :meth:`H1Response.next_chunk`).
* :class:`H1Transport` — the :class:`~chassis.http.transport.Transport` of the service client
  over such a pool, failing exactly as :class:`~chassis.http.transport.AiohttpTransport` does:
  :class:`ConnectFailed` (nothing sent), :class:`TimeoutError`, :class:`SendFailed`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from httptools import HttpParserError, HttpResponseParser
from multidict import CIMultiDict, CIMultiDictProxy

from chassis.http.transport import ConnectFailed, RawResponse, SendFailed

__all__ = ["H1Pool", "H1Response", "H1Transport", "Origin"]

_TICK = 0.05  # seconds: the resolution of every timeout
_HIGH_WATER = 256 * 1024  # unread streamed bytes before reading pauses
_NO_BODY_STATUSES = frozenset({204, 304})
_NO_CHUNKS: collections.deque[bytes] = collections.deque(maxlen=0)  # shared, always empty

# called once per exchange with the response (head, and the body when small) or the failure
Callback = Callable[["H1Response | None", "BaseException | None"], None]


@dataclass(frozen=True, slots=True, eq=False)
class Origin:
    """Where to connect, and the ``Host`` line requests to it carry. Compared and hashed by
    identity (cheap as a dict key): :meth:`H1Pool.origin` hands out one per URL."""

    host: str
    port: int
    host_line: bytes

    @classmethod
    def from_url(cls, url: str) -> Origin:
        """The origin of an ``http://host[:port]`` URL (a path is ignored)."""
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not an http:// URL: {url!r}")
        return cls(parts.hostname, parts.port or 80,
                   b"host: " + parts.netloc.encode("ascii") + b"\r\n")


class WriteBatch:
    """Writes made during one turn of the event loop, sent together at its end.

    On a loopback in a VM every send that wakes an idle peer costs an inter-processor
    interrupt; sending a turn's answers back to back lets the peer take several per wake-up.
    ``flush`` before closing a transport, so nothing queued is lost. One per event loop
    (:meth:`of`): a proxy's answers and upstream requests share one flush per turn."""

    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, WriteBatch] = (
        weakref.WeakKeyDictionary())

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: list[tuple[asyncio.Transport, bytes]] = []
        self.scheduled = False

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> WriteBatch:
        """The batch of ``loop`` (made on first use)."""
        batch = cls._by_loop.get(loop)
        if batch is None:
            batch = cls._by_loop[loop] = cls(loop)
        return batch

    def write(self, transport: asyncio.Transport, data: bytes) -> None:
        self.queue.append((transport, data))
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        queue, self.queue = self.queue, []
        for transport, data in queue:
            if not transport.is_closing():
                transport.write(data)


class H1Response:
    """An upstream response: status, headers (lower-case names, in order) and a body that is
    either here already (:attr:`body`) or arriving (:meth:`next_chunk`, :meth:`read`)."""

    __slots__ = ("_buffered", "_chunks", "_conn", "_eof", "_error", "_waiter", "body",
                 "content_length", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]],
                 content_length: int | None, conn: _Connection | None) -> None:
        self.status = status
        self.headers = headers
        self.content_length = content_length
        self.body: bytes | None = None  # the whole body, once it arrived
        self._conn = conn  # set while the body is still arriving
        # a body that arrives whole never streams: no queue of its own
        self._chunks: collections.deque[bytes] = (collections.deque() if conn is not None
                                                   else _NO_CHUNKS)
        self._buffered = 0
        self._eof = conn is None
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    @property
    def complete(self) -> bool:
        """Whether the whole body has arrived."""
        return self._eof and not self._chunks

    def header(self, name: bytes) -> bytes | None:
        """The first value of a (lower-case) header, or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    async def next_chunk(self) -> bytes:
        """The body bytes that arrived since the last call (waiting for some); ``b""`` at the
        end. Raises :class:`SendFailed` or :class:`TimeoutError` if the body breaks off."""
        if self.body is not None:
            body, self.body = self.body, b""
            return body
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunks = self._chunks
        data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        conn = self._conn
        if conn is not None and conn.paused:
            conn.resume()
        return data

    async def read(self) -> bytes:
        """The rest of the body, whole."""
        if self.body is not None and self._eof:
            return self.body
        parts = []
        while chunk := await self.next_chunk():
            parts.append(chunk)
        self.body = b"".join(parts)
        return self.body

    def close(self) -> None:
        """Give up on the rest of the body: its connection is closed, not reused."""
        conn = self._conn
        if conn is not None and not self._eof:
            conn.abort()

    # -- fed by the connection --

    def _feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > _HIGH_WATER and self._conn is not None:
            self._conn.pause()
        self._wake()

    def _finish(self, error: BaseException | None = None) -> None:
        self._eof = True
        self._error = error
        self._conn = None
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Connection(asyncio.Protocol):
    """One keep-alive connection to an origin; one exchange at a time."""

    def __init__(self, pool: H1Pool, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser = HttpResponseParser(self)
        self.closed = False
        self.counted = True  # against the pool's limit, until it closes
        self.paused = False
        self.deadline = 0.0  # loop time; checked by the pool's ticker while busy
        self.idle_since = 0.0
        self.born = pool.now
        self._waiter: asyncio.Future[H1Response] | None = None
        self._callback: Callback | None = None
        self._response: H1Response | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._length: int | None = None
        self._stream_above = 0
        self._head_only = False
        self._read_timeout = 0.0
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods
        self.transport = cast(asyncio.Transport, transport)

    def exchange(self, data: bytes, deadline: float, read_timeout: float, stream_above: int,
                 head_only: bool, callback: Callback | None = None
                 ) -> asyncio.Future[H1Response] | None:
        """Write a whole request; the response head (and a small body) goes to ``callback``
        when given (called from this connection's data callback), else to the future returned."""
        if callback is None:
            self._waiter = waiter = self.pool.loop.create_future()
        else:
            self._waiter = waiter = None
        self._callback = callback
        self._response = None
        self._headers = []
        self._length = None
        self._body = []
        self._stream_above = stream_above
        self._head_only = head_only
        self._read_timeout = read_timeout
        self.deadline = deadline
        self.pool.busy.add(self)
        assert self.transport is not None
        self.pool.batch.write(self.transport, data)
        return waiter

    # -- httptools callbacks --

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-length":
            self._length = int(value)
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # an interim answer (103 Early Hints): the real one follows
            self._headers = []
            return
        length = self._length
        if self._head_only or status in _NO_BODY_STATUSES:
            self._complete(H1Response(status, self._headers, length, None), b"")
            # the parser would wait for the body a HEAD answer announces but never sends
            self.abort()
            return
        if length is not None and length <= self._stream_above:
            self._response = H1Response(status, self._headers, length, None)
            return  # read whole, handed over on_message_complete
        response = self._response = H1Response(status, self._headers, length, self)
        self.deadline = self.pool.loop.time() + self._read_timeout  # now a silence timeout
        self._deliver(response, None)

    def on_body(self, body: bytes) -> None:
        response = self._response
        if response is None:
            return
        if response._conn is None:
            self._body.append(body)
        else:
            self.deadline = self.pool.loop.time() + self._read_timeout
            response._feed(body)

    def on_message_complete(self) -> None:
        response = self._response
        if response is None:
            return  # the end of an interim answer
        self._response = None
        keep = self.parser.should_keep_alive()
        if response._conn is None:
            body = self._body
            self._complete(response, body[0] if len(body) == 1 else b"".join(body))
        else:
            response._finish()
            self._done()
        if keep and not self.closed:
            if self.paused:
                self.resume()
            self.pool.release(self)
        else:
            self.abort()

    # -- transport callbacks --

    def data_received(self, data: bytes) -> None:
        if self._waiter is None and self._callback is None and self._response is None:
            self.abort()  # nothing was asked: a server talking out of turn is not reused
            return
        try:
            self.parser.feed_data(data)
        except HttpParserError as exc:
            self._fail(SendFailed(f"malformed response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        response = self._response
        if (response is not None and response._conn is not None and response.content_length
                is None and response.header(b"transfer-encoding") is None):
            response._finish()  # a body delimited by the end of the connection
            self._response = None
            self._done()
            return
        self._fail(SendFailed(str(exc) if exc else "the upstream closed the connection"))

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    # -- helpers --

    def _deliver(self, response: H1Response | None, error: BaseException | None) -> bool:
        """Hand the answer (or the failure) to whoever waits for it; False if nobody did."""
        waiter, callback = self._waiter, self._callback
        self._waiter = self._callback = None
        if callback is not None:
            callback(response, error)
            return True
        if waiter is not None and not waiter.done():
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(response)  # type: ignore[arg-type]
            return True
        return False

    def _complete(self, response: H1Response, body: bytes) -> None:
        response.body = body
        self._done()
        self._deliver(response, None)

    def _done(self) -> None:
        self.pool.busy.discard(self)

    def _fail(self, error: BaseException) -> None:
        response = self._response
        self._response = None
        self._done()
        if not self._deliver(None, error) and response is not None and response._conn is not None:
            response._finish(error)
        self.abort()

    def timed_out(self) -> None:
        self._fail(TimeoutError("the upstream did not answer in time"))

    def pause(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.paused and self.transport is not None and not self.closed:
            self.paused = False
            self.transport.resume_reading()

    def abort(self) -> None:
        """Close without reuse (the pool forgets it at once)."""
        if not self.closed:
            self.closed = True
            self.pool.forget(self)
            if self.transport is not None:
                self.pool.batch.flush()
                self.transport.close()
        if self._response is not None or self._callback is not None or self._waiter is not None:
            self._fail(SendFailed("the connection was closed"))


class H1Pool:
    """Keep-alive connections per origin, at most ``limit`` open in all; an idle connection is
    closed after ``keepalive`` seconds (keep it below the upstreams' own keep-alive, so this
    side closes first and never reuses a connection the other side is closing), and one older
    than ``max_age`` seconds when its exchange ends: an origin that is a load-balanced name (a
    Kubernetes Service) balances per connection, so a connection kept for ever would keep its
    pod for ever, and a pod added by an autoscaler would get none of this process's calls."""

    def __init__(self, *, limit: int = 1024, keepalive: float = 4.0,
                 connect_timeout: float = 1.0, max_age: float = 60.0) -> None:
        self.loop = asyncio.get_running_loop()
        self.batch = WriteBatch.of(self.loop)
        self.limit = limit
        self.keepalive = keepalive
        self.max_age = max_age
        self.connect_timeout = connect_timeout
        self.busy: set[_Connection] = set()
        self.closed = False
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open = 0
        self._slot_freed = asyncio.Event()
        self._origins: dict[str, Origin] = {}
        self.now = self.loop.time()  # updated by the ticker
        self._ticker = self.loop.call_later(_TICK, self._tick)
        self._idle_check = 0.0

    def origin(self, url: str) -> Origin:
        """The (cached) origin of a base URL."""
        found = self._origins.get(url)
        if found is None:
            found = self._origins[url] = Origin.from_url(url)
        return found

    async def request(self, origin: Origin, data: bytes, *, timeout: float,
                      read_timeout: float | None = None, stream_above: int = 64 * 1024,
                      head_only: bool = False) -> H1Response:
        """Send ``data`` (a whole request: head and body) to ``origin``; return the response
        once its head arrived — with its body too when it is at most ``stream_above`` bytes.

        ``timeout`` bounds connecting and the wait for the answer; a streamed body then fails
        after ``read_timeout`` seconds of silence (``timeout`` by default). ``head_only`` says
        the request was a HEAD (its answer has no body whatever it announces).
        """
        if self.closed:
            raise ConnectFailed("the connection pool is closed")
        loop = self.loop
        deadline = loop.time() + timeout
        conn = None
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                break
            conn = None
        if conn is None:
            conn = await self._connect(origin, min(self.connect_timeout, timeout))
        waiter = conn.exchange(data, deadline, read_timeout or timeout, stream_above, head_only)
        assert waiter is not None
        try:
            return await waiter
        except asyncio.CancelledError:
            # whoever waited has gone: the answer still on its way must not reach the next
            # request on this connection, and the upstream sees its client hang up
            conn.abort()
            raise

    def try_send(self, origin: Origin, data: bytes, callback: Callback, *, timeout: float,
                 read_timeout: float | None = None, stream_above: int = 64 * 1024,
                 head_only: bool = False) -> Callable[[], None] | None:
        """Like :meth:`request` without a coroutine: send on an idle connection to ``origin``
        if one is open, and hand the answer or the failure to ``callback``; None when no idle
        connection was at hand (nothing was sent), else what hangs up on the exchange (it
        closes the connection; ``callback`` then gets :class:`SendFailed` if it had no answer
        yet)."""
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                conn.exchange(data, self.loop.time() + timeout, read_timeout or timeout,
                              stream_above, head_only, callback)
                return conn.abort
        return None

    async def _connect(self, origin: Origin, timeout: float) -> _Connection:
        if self._open >= self.limit:  # make room by closing the longest idle connection
            idle = [c for conns in self._idle.values() for c in conns]
            if idle:
                min(idle, key=lambda c: c.idle_since).abort()
        while self._open >= self.limit:
            self._slot_freed.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._slot_freed.wait()
            except TimeoutError:
                raise ConnectFailed(f"all {self.limit} pooled connections are busy") from None
        self._open += 1
        try:
            async with asyncio.timeout(timeout):
                _, conn = await self.loop.create_connection(
                    lambda: _Connection(self, origin), origin.host, origin.port)
        except (OSError, TimeoutError) as exc:
            self._open -= 1
            self._slot_freed.set()
            raise ConnectFailed(f"cannot connect to {origin.host}:{origin.port}: "
                                f"{exc or type(exc).__name__}") from exc
        except BaseException:
            self._open -= 1
            self._slot_freed.set()
            raise
        return conn

    def release(self, conn: _Connection) -> None:
        """Back to the idle list, for the next request to the same origin."""
        if self.closed or self.now - conn.born > self.max_age:
            conn.abort()
            return
        conn.idle_since = self.now  # the ticker's clock: idle expiry is coarse anyway
        idle = self._idle.get(conn.origin)
        if idle is None:
            idle = self._idle[conn.origin] = []
        idle.append(conn)

    def forget(self, conn: _Connection) -> None:
        """A connection closed: it no longer counts against the limit."""
        if conn in self.busy:
            self.busy.discard(conn)
        idle = self._idle.get(conn.origin)
        if idle and conn in idle:
            idle.remove(conn)
        if conn.counted:
            conn.counted = False
            self._open -= 1
            self._slot_freed.set()

    def _tick(self) -> None:
        self.now = now = self.loop.time()
        if self.busy:
            for conn in [c for c in self.busy if c.deadline <= now]:
                conn.timed_out()
        if now - self._idle_check >= 1.0:
            self._idle_check = now
            for idle in self._idle.values():
                for conn in [c for c in idle if now - c.idle_since >= self.keepalive]:
                    conn.abort()
        if not self.closed:
            self._ticker = self.loop.call_later(_TICK, self._tick)

    async def close(self) -> None:
        """Close every connection; requests in flight fail with :class:`SendFailed`."""
        self.closed = True
        self._ticker.cancel()
        conns = [c for idle in self._idle.values() for c in idle] + list(self.busy)
        for conn in conns:
            conn.abort()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports run connection_lost


_DROPPED_REQUEST_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class H1Transport:
    """The service client's :class:`~chassis.http.transport.Transport` over an
    :class:`H1Pool` (one per process; made on first use in the running loop when not given)."""

    def __init__(self, pool: H1Pool | None = None, *, connect_timeout: float = 0.5,
                 limit: int = 1024, keepalive: float = 4.0) -> None:
        self._pool = pool
        self._options = {"connect_timeout": connect_timeout, "limit": limit,
                         "keepalive": keepalive}

    @property
    def pool(self) -> H1Pool:
        if self._pool is None:
            self._pool = H1Pool(connect_timeout=float(self._options["connect_timeout"]),
                                limit=int(self._options["limit"]),
                                keepalive=float(self._options["keepalive"]))
        return self._pool

    async def send(self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None,
                   timeout: float) -> RawResponse:
        """One exchange, answered whole within ``timeout`` seconds or :class:`TimeoutError`."""
        parts = urlsplit(url)
        try:
            origin = self.pool.origin(f"{parts.scheme}://{parts.netloc}")
        except ValueError as exc:
            raise ConnectFailed(str(exc)) from None
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1"), origin.host_line]
        lines.extend(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items()
                     if name.lower() not in _DROPPED_REQUEST_HEADERS)
        if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
            lines.append(b"content-length: %d\r\n" % len(body or b""))
        lines.append(b"\r\n")
        if body:
            lines.append(body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        response = await self.pool.request(origin, b"".join(lines), timeout=timeout,
                                           head_only=method == "HEAD")
        try:
            async with asyncio.timeout_at(deadline):
                content = await response.read()
        finally:
            response.close()
        found: CIMultiDict[str] = CIMultiDict(
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers)
        return RawResponse(response.status, CIMultiDictProxy(found), content)

    async def close(self) -> None:
        """Close the pool's connections."""
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.close()
