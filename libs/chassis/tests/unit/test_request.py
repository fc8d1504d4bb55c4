"""The request a handler sees, over a scripted ASGI ``receive``."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import pytest

from chassis.web.request import Request

pytestmark = pytest.mark.unit


def scripted(messages: list[dict[str, Any]]) -> Any:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)

    async def receive() -> MutableMapping[str, Any]:
        return await queue.get()

    return receive, queue


def get_request(receive: Any) -> Request:
    return Request({"method": "GET", "path": "/v1/watch", "headers": []}, receive)


async def test_disconnected_returns_once_the_client_hangs_up() -> None:
    receive, queue = scripted([{"type": "http.request", "body": b"", "more_body": False}])
    waiting = asyncio.create_task(get_request(receive).disconnected())
    await asyncio.sleep(0)
    assert not waiting.done()  # the request itself is no hang-up
    queue.put_nowait({"type": "http.disconnect"})
    await asyncio.wait_for(waiting, 1)
