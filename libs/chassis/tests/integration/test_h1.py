"""The lean HTTP/1.1 client over real sockets: a uvicorn upstream and raw asyncio servers that
misbehave on purpose (reset, silence, interim answers, bodies ended by closing)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chassis.http import ConnectFailed, SendFailed, ServiceClient, StaticDirectory
from chassis.http.h1 import H1Pool, H1Transport, Origin
from chassis.testing import free_port, serve_app

pytestmark = pytest.mark.integration


def app() -> Starlette:
    async def echo(request: Request) -> Response:
        return JSONResponse({"method": request.method, "path": request.url.path,
                             "query": request.url.query, "body": (await request.body()).decode(),
                             "headers": dict(request.headers)},
                            headers={"X-Upstream": "yes"})

    async def slow(request: Request) -> Response:
        await asyncio.sleep(1.0)
        return JSONResponse({})

    async def stream(request: Request) -> Response:
        async def parts() -> AsyncIterator[bytes]:
            for n in range(3):
                yield f"part {n}\n".encode()
                await asyncio.sleep(0.01)
        return StreamingResponse(parts(), media_type="text/event-stream")

    return Starlette(routes=[Route("/echo", echo, methods=["GET", "POST", "HEAD", "PUT"]),
                             Route("/slow", slow), Route("/stream", stream)])


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    async with serve_app(app()) as url:
        yield url


@pytest.fixture
async def transport() -> AsyncIterator[H1Transport]:
    found = H1Transport(connect_timeout=0.5)
    yield found
    await found.close()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()


async def test_sends_and_reads_a_whole_exchange(upstream: str, transport: H1Transport) -> None:
    raw = await transport.send("POST", f"{upstream}/echo?a=1", headers={"X-Custom": "v",
                               "Content-Type": "text/plain"}, body=b"hello", timeout=2)
    assert raw.status == 200
    assert raw.headers["x-upstream"] == "yes" and raw.headers["X-UPSTREAM"] == "yes"
    doc = orjson.loads(raw.body)
    assert (doc["method"], doc["path"], doc["query"], doc["body"]) == ("POST", "/echo", "a=1",
                                                                      "hello")
    assert doc["headers"]["x-custom"] == "v"
    assert doc["headers"]["content-length"] == "5"
    assert doc["headers"]["host"] == upstream.removeprefix("http://")


async def counting_server(raw_server: Callable[[Handler], Awaitable[str]]
                          ) -> tuple[str, list[int]]:
    """A server answering "ok" to up to 10 requests a connection; the connections it took."""
    connections: list[int] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        for _ in range(10):
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        writer.close()

    return await raw_server(answer), connections


async def test_keeps_connections_alive(raw_server: Callable[[Handler], Awaitable[str]],
                                       transport: H1Transport) -> None:
    url, connections = await counting_server(raw_server)
    for _ in range(5):
        raw = await transport.send("GET", f"{url}/", headers={}, body=None, timeout=2)
        assert raw.body == b"ok"
    assert len(connections) == 1


async def test_a_connection_past_its_age_is_not_reused(
        raw_server: Callable[[Handler], Awaitable[str]]) -> None:
    """An origin behind a Service name balances per connection: a connection kept for ever
    would keep its pod for ever (a pod an autoscaler adds would get none of these calls)."""
    url, connections = await counting_server(raw_server)
    pool = H1Pool(max_age=0.3)
    transport = H1Transport(pool)
    try:
        for _ in range(3):  # one connection while young
            assert (await transport.send("GET", f"{url}/", headers={}, body=None,
                                         timeout=2)).body == b"ok"
        assert len(connections) == 1
        await asyncio.sleep(0.5)  # past its age (the pool's clock ticks every 50 ms)
        for _ in range(2):  # the next exchange is its last; the one after opens another
            assert (await transport.send("GET", f"{url}/", headers={}, body=None,
                                         timeout=2)).body == b"ok"
        assert len(connections) == 2
    finally:
        await transport.close()


async def test_a_refused_connection_is_connect_failed(transport: H1Transport) -> None:
    with pytest.raises(ConnectFailed):
        await transport.send("POST", f"http://127.0.0.1:{free_port()}/x", headers={},
                             body=b"x", timeout=2)


async def test_no_answer_in_time_is_a_timeout(upstream: str, transport: H1Transport) -> None:
    with pytest.raises(TimeoutError):
        await transport.send("GET", f"{upstream}/slow", headers={}, body=None, timeout=0.2)
    raw = await transport.send("GET", f"{upstream}/echo", headers={}, body=None, timeout=2)
    assert raw.status == 200  # the timed-out connection was not reused


async def test_a_reset_after_sending_is_send_failed(
        raw_server: Callable[[Handler], Awaitable[str]], transport: H1Transport) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.transport.abort()

    url = await raw_server(reset)
    with pytest.raises(SendFailed):
        await transport.send("GET", f"{url}/", headers={}, body=None, timeout=2)


async def test_interim_answers_and_bodies_ended_by_closing(
        raw_server: Callable[[Handler], Awaitable[str]], transport: H1Transport) -> None:
    async def old_style(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n"
                     b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    url = await raw_server(old_style)
    raw = await transport.send("GET", f"{url}/", headers={}, body=None, timeout=2)
    assert (raw.status, raw.body) == (200, b"until the end")
    assert "link" not in raw.headers


async def test_head_answers_have_no_body(upstream: str, transport: H1Transport) -> None:
    raw = await transport.send("HEAD", f"{upstream}/echo", headers={}, body=None, timeout=2)
    assert raw.status == 200 and raw.body == b""
    assert int(raw.headers["content-length"]) > 0
    again = await transport.send("GET", f"{upstream}/echo", headers={}, body=None, timeout=2)
    assert again.status == 200


async def test_streams_a_chunked_body_as_it_arrives(upstream: str) -> None:
    pool = H1Pool(keepalive=2.0)
    try:
        origin = pool.origin(upstream)
        resp = await pool.request(origin, b"GET /stream HTTP/1.1\r\n" + origin.host_line + b"\r\n",
                                  timeout=2)
        assert resp.status == 200 and resp.content_length is None and not resp.complete
        parts = []
        for _ in range(10):
            chunk = await resp.next_chunk()
            if not chunk:
                break
            parts.append(chunk)
        assert b"".join(parts) == b"part 0\npart 1\npart 2\n"
        assert resp.complete
    finally:
        await pool.close()


async def test_whoever_stops_waiting_hangs_up_on_the_upstream(
        raw_server: Callable[[Handler], Awaitable[str]]) -> None:
    # a cancelled request, or try_send's hang-up, closes its connection: the upstream sees its
    # client go, and a late answer can never be read as the next request's
    hung_up = 0
    held = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal hung_up
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"GET /quick "):
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                else:
                    held.set()  # never answered
        except asyncio.IncompleteReadError:
            hung_up += 1
        finally:
            writer.close()

    url = await raw_server(hold)
    pool = H1Pool(keepalive=2.0)

    def request(path: bytes) -> bytes:
        return b"GET " + path + b" HTTP/1.1\r\n" + origin.host_line + b"\r\n"

    async def hung_up_once(count: int) -> None:
        for _ in range(200):
            if hung_up >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"the upstream saw {hung_up} hang-ups, not {count}")

    try:
        origin = pool.origin(url)
        waiting = asyncio.ensure_future(pool.request(origin, request(b"/held"), timeout=10))
        await asyncio.wait_for(held.wait(), 2)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await hung_up_once(1)
        assert pool.try_send(origin, request(b"/quick"), lambda *_: None, timeout=2) is None

        assert (await pool.request(origin, request(b"/quick"), timeout=2)).body == b"ok"
        held.clear()
        answers: list[BaseException | None] = []
        hang_up = pool.try_send(origin, request(b"/held"), lambda _, e: answers.append(e),
                                timeout=10)
        assert hang_up is not None  # sent on the connection kept alive
        await asyncio.wait_for(held.wait(), 2)
        hang_up()
        assert len(answers) == 1 and isinstance(answers[0], SendFailed)
        await hung_up_once(2)
        assert pool.try_send(origin, request(b"/quick"), lambda *_: None, timeout=2) is None
    finally:
        await pool.close()


async def test_the_service_client_runs_over_it(upstream: str, transport: H1Transport) -> None:
    client = ServiceClient(transport, StaticDirectory({"up": upstream}), service="me")
    answer = await client.post("up", "/echo", json={"n": 1})
    assert answer.json()["body"] == '{"n":1}'


def test_an_origin_is_an_http_url() -> None:
    origin = Origin.from_url("http://127.0.0.1:8001/ignored")
    assert (origin.host, origin.port, origin.host_line) == ("127.0.0.1", 8001,
                                                            b"host: 127.0.0.1:8001\r\n")
    with pytest.raises(ValueError):
        Origin.from_url("https://example.com")
