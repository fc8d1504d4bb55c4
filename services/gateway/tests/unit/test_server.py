"""The gateway's HTTP/1.1 server without sockets: bytes in through a fake transport, bytes out.

Body limits (413 before a declared body is read, counted for chunked bodies), malformed requests
(400), header and URL limits (431/414), ``Expect: 100-continue``, HTTP/1.0 keep-alive,
``Connection: close``, pipelining in order, HEAD, chunked streaming, idle timeouts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from gateway.request import Request
from gateway.server import Connection, Limits, Server

pytestmark = pytest.mark.unit


class FakeTransport(asyncio.Transport):
    """Collects what the server writes; records closing and reading pauses."""

    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.closed = False
        self.eof = False
        self.paused = False
        self.protocol: Connection | None = None

    def write(self, data: Any) -> None:
        assert not self.closed, "wrote after close"
        self.out += data

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.protocol is not None:
                self.protocol.connection_lost(None)

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self.closed

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("10.0.0.9", 40000) if name == "peername" else default


class Harness:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.seen: list[Request] = []

    def connect(self) -> tuple[Connection, FakeTransport]:
        conn = Connection(self.server)
        transport = FakeTransport()
        transport.protocol = conn
        conn.connection_made(transport)
        return conn, transport


async def settle() -> None:
    for _ in range(5):  # the handler runs as a task: give it a few turns of the loop
        await asyncio.sleep(0)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    seen: list[Request] = []

    def echo(request: Request) -> None:
        seen.append(request)
        if request.raw_path == "/stream":
            request.start(200, [(b"content-type", b"text/plain")], None)
            request.write(b"hello ")
            request.write(b"world")
            request.end()
        elif request.raw_path == "/later":  # answered from a task, as the gateway's slow path
            async def later() -> None:
                await asyncio.sleep(0)
                request.respond_json(200, {"path": request.raw_path, "body": ""})
                request.finish()
            asyncio.get_running_loop().create_task(later())
            return
        else:
            request.respond_json(200, {"path": request.raw_path, "body": request.body.decode()})
        request.finish()

    server = Server(echo, Limits(max_body_bytes=10, max_header_bytes=1024, max_headers=20,
                                 max_url_bytes=64, keepalive_timeout=3, request_timeout=2))
    found = Harness(server)
    found.seen = seen
    yield found
    await server.shutdown(0)


def responses(out: bytes) -> list[tuple[int, dict[bytes, bytes], bytes]]:
    """Split simple (Content-Length framed) responses."""
    found = []
    rest = bytes(out)
    while rest:
        head, _, rest = rest.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = dict(line.lower().split(b": ", 1) for line in lines[1:])
        length = int(headers.get(b"content-length", b"0"))
        found.append((status, headers, rest[:length]))
        rest = rest[length:]
    return found


async def test_reads_a_body_sent_in_chunks(harness: Harness) -> None:
    conn, transport = harness.connect()
    conn.data_received(b"PUT /x HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n"
                       b"2\r\nab\r\n")
    conn.data_received(b"2\r\ncd\r\n0\r\n\r\n")
    await settle()
    [(status, _, body)] = responses(transport.out)
    assert status == 200 and orjson.loads(body)["body"] == "abcd"


async def test_a_request_without_length_or_encoding_has_no_body(harness: Harness) -> None:
    conn, _transport = harness.connect()
    conn.data_received(b"GET /x HTTP/1.1\r\nhost: a\r\n\r\n")
    await settle()
    assert harness.seen[0].body == b""
    assert harness.seen[0].client == "10.0.0.9"


async def test_refuses_a_declared_length_over_the_limit_before_reading(harness: Harness) -> None:
    conn, transport = harness.connect()
    conn.data_received(b"POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 11\r\n\r\n")
    await settle()
    [(status, headers, body)] = responses(transport.out)
    assert status == 413 and headers[b"connection"] == b"close"
    assert headers[b"content-type"] == b"application/problem+json"
    assert orjson.loads(body)["type"].endswith("gateway/request-too-large")
    assert harness.seen == []
    conn.data_received(b"x" * 11)  # the body still arriving is drained, not answered
    assert transport.eof and len(responses(transport.out)) == 1


async def test_refuses_a_chunked_body_once_it_exceeds_the_limit(harness: Harness) -> None:
    conn, transport = harness.connect()
    conn.data_received(b"POST /x HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n"
                       b"6\r\n123456\r\n6\r\n123456\r\n")
    await settle()
    assert [r[0] for r in responses(transport.out)] == [413]
    assert harness.seen == []


async def test_a_body_of_exactly_the_limit_passes(harness: Harness) -> None:
    conn, _transport = harness.connect()
    conn.data_received(b"POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\nxxxxxxxxxx")
    await settle()
    assert harness.seen[0].body == b"x" * 10


@pytest.mark.parametrize("raw", [
    b"POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: ten\r\n\r\n",
    b"GET /x HTTP/1.1\r\nbad header\r\n\r\n",
    b"NOT HTTP AT ALL\r\n\r\n",
    b"GET ftp://a/x HTTP/1.1\r\nhost: a\r\n\r\n",  # a target is a path or an http(s) URL
    b"GET http://user@a/x HTTP/1.1\r\nhost: a\r\n\r\n",
    b"GET http:///x HTTP/1.1\r\nhost: a\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nhost: a\r\n\r\n",
    b"GET /x HTTP/2.0\r\nhost: a\r\n\r\n",  # answered as HTTP/1.1 before
    b"GET /x HTTP/0.9\r\nhost: a\r\n\r\n",
    b"GET /x HTTP/1.1\r\n\r\n",  # RFC 9112 3.2: an HTTP/1.1 request names its host
    b"GET /x HTTP/1.1\r\nhost: a\r\nHost: b\r\n\r\n",  # and names one
])
async def test_a_malformed_request_is_a_400_problem(harness: Harness, raw: bytes) -> None:
    conn, transport = harness.connect()
    conn.data_received(raw)
    await settle()
    [(status, headers, body)] = responses(transport.out)
    assert status == 400
    assert headers[b"content-type"] == b"application/problem+json"
    assert orjson.loads(body)["status"] == 400
    assert harness.seen == []


async def test_an_absolute_form_target_is_served_by_its_path_and_authority(
        harness: Harness) -> None:
    """RFC 9112 3.2.2: a server must accept it; its authority replaces Host (it was a 400)."""
    conn, transport = harness.connect()
    conn.data_received(b"GET HTTP://shop.example:8080/a/b?x=1 HTTP/1.1\r\nhost: other\r\n\r\n"
                       b"GET http://shop.example HTTP/1.1\r\n\r\n")
    await settle()
    assert [status for status, _, _ in responses(transport.out)] == [200, 200]
    first, second = harness.seen
    assert (first.raw_path, first.query) == ("/a/b", b"x=1")
    assert [v for n, v in first.headers if n == b"host"] == [b"shop.example:8080"]
    assert second.raw_path == "/" and [v for n, v in second.headers if n == b"host"] == [
        b"shop.example"]


async def test_a_client_that_disconnects_mid_body_is_never_handled(harness: Harness) -> None:
    conn, transport = harness.connect()
    conn.data_received(b"POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 4\r\n\r\nab")
    transport.close()
    await settle()
    assert harness.seen == [] and transport.out == b""


@pytest.mark.parametrize(("raw", "status"), [
    (b"GET /x HTTP/1.1\r\nx-big: " + b"a" * 2000 + b"\r\n\r\n", 431),
    (b"GET /x HTTP/1.1\r\n" + b"".join(b"x-%d: 1\r\n" % n for n in range(30)) + b"\r\n", 431),
    (b"GET /" + b"a" * 100 + b" HTTP/1.1\r\nhost: a\r\n\r\n", 414),
])
async def test_header_and_url_limits(harness: Harness, raw: bytes, status: int) -> None:
    conn, transport = harness.connect()
    conn.data_received(raw)
    await settle()
    assert [r[0] for r in responses(transport.out)] == [status]


async def test_expect_100_continue(harness: Harness) -> None:
    conn, transport = harness.connect()
    conn.data_received(b"POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\n"
                       b"expect: 100-continue\r\n\r\n")
    await settle()  # answers of a loop turn leave together at its end
    assert bytes(transport.out) == b"HTTP/1.1 100 Continue\r\n\r\n"
    conn.data_received(b"abc")
    await settle()
    assert harness.seen[0].body == b"abc"
    too_big, big_transport = harness.connect()
    too_big.data_received(b"POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 30\r\n"
                          b"expect: 100-continue\r\n\r\n")
    await settle()
    assert bytes(big_transport.out).startswith(b"HTTP/1.1 413 ")  # no 100: don't send it


async def test_http_1_0_keeps_alive_only_when_asked(harness: Harness) -> None:
    conn, transport = harness.connect()
    conn.data_received(b"GET /a HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
    await settle()
    [(_, headers, _)] = responses(transport.out)
    assert headers[b"connection"] == b"keep-alive" and not transport.closed
    conn.data_received(b"GET /b HTTP/1.0\r\n\r\n")
    await settle()
    assert responses(transport.out)[1][1][b"connection"] == b"close"
    assert transport.closed


async def test_connection_close_closes_after_the_answer(harness: Harness) -> None:
    conn, transport = harness.connect()
    conn.data_received(b"GET /a HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
    await settle()
    [(status, headers, _)] = responses(transport.out)
    assert status == 200 and headers[b"connection"] == b"close" and transport.closed


async def test_pipelined_requests_are_answered_in_order(harness: Harness) -> None:
    conn, transport = harness.connect()
    conn.data_received(b"GET /later HTTP/1.1\r\nhost: a\r\n\r\nGET /2 HTTP/1.1\r\nhost: a\r\n\r\n"
                       b"GET /later HTTP/1.1\r\nhost: a\r\n\r\nGET /4 HTTP/1.1\r\nhost: a\r\n\r\n")
    assert transport.paused  # no more reading while answers are queued
    await settle()
    paths = [orjson.loads(body)["path"] for _, _, body in responses(transport.out)]
    assert paths == ["/later", "/2", "/later", "/4"]
    assert not transport.paused and not transport.closed


async def test_head_gets_the_headers_only(harness: Harness) -> None:
    conn, transport = harness.connect()
    conn.data_received(b"HEAD /x HTTP/1.1\r\nhost: a\r\n\r\n")
    await settle()
    head = bytes(transport.out)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
    assert b"content-length: " in head and b'"path"' not in head


async def test_a_streamed_answer_is_chunked_and_ends(harness: Harness) -> None:
    conn, transport = harness.connect()
    conn.data_received(b"GET /stream HTTP/1.1\r\nhost: a\r\n\r\n")
    await settle()
    out = bytes(transport.out)
    assert b"transfer-encoding: chunked\r\n" in out
    assert out.endswith(b"\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n")


async def test_websocket_upgrades_are_refused(harness: Harness) -> None:
    conn, transport = harness.connect()
    conn.data_received(b"GET /ws HTTP/1.1\r\nhost: a\r\nconnection: upgrade\r\n"
                       b"upgrade: websocket\r\n\r\n")
    await settle()
    assert [r[0] for r in responses(transport.out)] == [403]


async def test_idle_and_slow_connections_are_closed(harness: Harness) -> None:
    idle, idle_transport = harness.connect()
    slow, slow_transport = harness.connect()
    slow.data_received(b"GET /x HTTP/1.1\r\nhost:")  # and nothing more
    for _ in range(3):
        idle.tick()
        slow.tick()
    assert not idle_transport.closed
    assert [r[0] for r in responses(slow_transport.out)] == [408]
    idle.tick()
    assert idle_transport.closed


def test_every_status_line_names_its_reason() -> None:
    from gateway.request import status_line

    assert status_line(200) == b"HTTP/1.1 200 OK\r\n"
    assert status_line(303) == b"HTTP/1.1 303 See Other\r\n"  # the front end's redirects
    assert status_line(413) == b"HTTP/1.1 413 Content Too Large\r\n"  # RFC 9110's wording
    assert status_line(599) == b"HTTP/1.1 599 \r\n"  # no standard name: an empty reason
