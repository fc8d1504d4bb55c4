"""An in-memory client for an ASGI app: unit tests of routes without sockets or servers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from chassis.testing.service import Reply

__all__ = ["AsgiClient"]


class AsgiClient:
    """``async with AsgiClient(app) as client:`` runs the app's lifespan around the block;
    ``await client.request("GET", "/v1/x?y=1", headers=...)`` calls it in this event loop."""

    def __init__(self, app: Any, *, lifespan: bool = True) -> None:
        self.app = app
        self._lifespan = lifespan
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AsgiClient:
        if self._lifespan:
            self._task = asyncio.create_task(self.app(
                {"type": "lifespan", "asgi": {"version": "3.0"}}, self._to_app.get,
                self._from_app.put))
            await self._to_app.put({"type": "lifespan.startup"})
            answer = await asyncio.wait_for(self._from_app.get(), 30)
            if answer["type"] != "lifespan.startup.complete":
                raise RuntimeError(f"start-up failed: {answer.get('message')}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            await self._to_app.put({"type": "lifespan.shutdown"})
            await asyncio.wait_for(self._from_app.get(), 30)
            await self._task

    async def request(self, method: str, target: str, *, headers: Mapping[str, str] | None = None,
                      body: bytes = b"", json: Any = None,
                      client: tuple[str, int] = ("127.0.0.1", 50000)) -> Reply:
        parts = urlsplit(target)
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        if json is not None:
            body = orjson.dumps(json)
            hdrs.setdefault("content-type", "application/json")
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": parts.path,
                 "raw_path": parts.path.encode(), "query_string": parts.query.encode(),
                 "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in hdrs.items()],
                 "client": client, "server": ("testserver", 80)}
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never hangs up on its own
            return {"type": "http.disconnect"}

        status, out_headers, chunks = 0, {}, []

        async def send(message: Mapping[str, Any]) -> None:
            nonlocal status, out_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                out_headers = {k.decode("latin-1"): v.decode("latin-1")
                               for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        raw = b"".join(chunks)
        try:
            parsed: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = raw.decode(errors="replace")
        return Reply(status, out_headers, parsed, raw)
