"""A service under test: its real app on a real uvicorn, called over real HTTP with test tokens."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

__all__ = ["Reply", "RunningService", "eventually", "serve_in_thread", "start_service"]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: Any  # the JSON document, or the text when it is not JSON
    raw: bytes


@dataclass
class RunningService:
    """``await svc.call("GET", "/v1/orders", user="u1")`` signs a token for ``user`` with the test
    issuer; ``token=None`` sends none, ``service="orders"`` sends a service token."""

    app: Any
    url: str
    http: aiohttp.ClientSession
    issuer: Any

    async def call(self, method: str, path: str, body: Any = None, *, user: str | None = "u1",
                   roles: tuple[str, ...] = ("customer",), service: str | None = None,
                   headers: Mapping[str, str] | None = None, data: bytes | None = None,
                   ) -> Reply:
        hdrs: dict[str, str] = {}
        if service is not None:
            hdrs["Authorization"] = f"Bearer {self.issuer.service_token(service)}"
        elif user is not None:
            hdrs["Authorization"] = f"Bearer {self.issuer.mint(sub=user, roles=roles)}"
        hdrs.update(headers or {})
        payload = data if data is not None else None if body is None else orjson.dumps(body)
        if body is not None and data is None:
            hdrs.setdefault("Content-Type", "application/json")
        async with self.http.request(method, self.url + path, data=payload,
                                     headers=hdrs) as response:
            raw = await response.read()
            try:
                parsed: Any = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                parsed = raw.decode(errors="replace")
            return Reply(response.status, response.headers, parsed, raw)


@contextlib.asynccontextmanager
async def start_service(app: Any, issuer: Any) -> AsyncIterator[RunningService]:
    """Serve ``app`` (tokens verified against ``issuer``) and yield it, ready: messaging started
    when the service has it."""
    from chassis.testing import serve_app

    app.verifier = issuer.verifier()
    async with serve_app(app) as url, aiohttp.ClientSession() as http:
        messaging = app.runtime.messaging
        if messaging is not None:
            await messaging.wait_started(15)
        yield RunningService(app=app, url=url, http=http, issuer=issuer)


async def eventually(check: Callable[[], Awaitable[object]], timeout: float = 10.0,
                     interval: float = 0.05) -> None:
    """Wait until ``check()`` is truthy; AssertionError after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if await check():
            return
        if loop.time() >= deadline:
            raise AssertionError(f"not reached within {timeout} s")
        await asyncio.sleep(interval)


@contextlib.contextmanager
def serve_in_thread(app: Any, issuer: Any) -> Iterator[str]:
    """Serve ``app`` from a thread with its own event loop, for synchronous clients (the OpenAPI
    conformance run); yield its URL."""
    ready = threading.Event()
    stop: asyncio.Event | None = None
    url = ""
    failure: list[BaseException] = []
    loop_box: list[asyncio.AbstractEventLoop] = []

    async def run() -> None:
        nonlocal stop, url
        stop = asyncio.Event()
        loop_box.append(asyncio.get_running_loop())
        async with start_service(app, issuer) as running:
            url = running.url
            ready.set()
            await stop.wait()

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # surfaced to the caller below
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=target, name="service-under-test", daemon=True)
    thread.start()
    if not ready.wait(30) or failure:
        raise RuntimeError(f"the service did not start: {failure[0] if failure else 'timeout'}")
    try:
        yield url
    finally:
        if loop_box and stop is not None:
            loop_box[0].call_soon_threadsafe(stop.set)
        thread.join(20)
