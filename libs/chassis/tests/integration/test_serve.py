"""The HTTP server every service runs (chassis.serve): what never reaches the app is refused
the way the app refuses, as problem+json."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from chassis.testing import serve_app
from chassis.web import App

pytestmark = pytest.mark.integration


async def test_a_request_that_is_not_valid_http_gets_a_problem_json_400() -> None:
    async with serve_app(App(title="any service")) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /v1/x HTTP/1.1\r\nHost: x\r\nBad Header\x00: y\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)  # the server closes after it
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: application/problem+json" in head.lower()
    problem = orjson.loads(body)
    assert problem["status"] == 400 and problem["type"].endswith("bad-request")


async def test_a_drop_fault_closes_the_connection_without_an_answer() -> None:
    from chassis.fault_rules import RouteFault
    from chassis.web import Router

    router = Router()

    @router.post("/v1/things", status=201)
    async def add_thing() -> dict[str, str]:
        return {"ok": "yes"}

    app = App(title="any service")
    app.include(router)
    app.faults.set_routes([RouteFault(route="POST /v1/things", drop_rate=1.0)])
    async with serve_app(app) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"POST /v1/things HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()
        try:
            answer = await asyncio.wait_for(reader.read(), 10)  # closed by the server
        except ConnectionResetError:
            answer = b""
        writer.close()
        assert answer == b""
        app.faults.set_routes([])  # healed: the same request is answered
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"POST /v1/things HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n"
                     b"connection: close\r\n\r\n{}")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 201 ")
