"""NATS connection helper: connect in the background, reconnect forever, report the state."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError

from chassis.logging import get_logger
from chassis.tasks import cancel_and_wait

__all__ = ["Broker", "ensure_bucket", "servers_of"]

log = get_logger(__name__)


def servers_of(url: str) -> list[str]:
    """The server URLs of a ``nats_url`` setting: one, or a cluster's nodes comma-separated."""
    return [part.strip() for part in url.split(",") if part.strip()]


class Broker:
    """One NATS connection per process. ``start()`` returns at once; the connection is made (and
    remade after any outage) in the background, so a service starts even while NATS is down; its
    readiness then says ``degraded`` (the outbox holds what it sends) until it is connected.

    ``url`` may list a cluster's nodes, comma-separated: the client connects to one of them
    (in random order, so a service's instances spread over the nodes) and, when that node goes,
    to another within ``reconnect_time_wait``; JetStream moves the leadership of the streams and
    consumers that node led to the others once they notice it is gone (docs/decisions.md 64)."""

    def __init__(self, url: str, name: str, *, connect_timeout: float = 2.0) -> None:
        self.url = url
        self.name = name
        self._connect_timeout = connect_timeout
        self._nc: NATS | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._js: JetStreamContext | None = None
        self._js_conn: NATS | None = None
        self._reconnect_listeners: list[Callable[[], None]] = []

    @property
    def nc(self) -> NATS:
        if self._nc is None or not self._nc.is_connected:
            raise ConnectionError("not connected to NATS")
        return self._nc

    def jetstream(self, **opts: Any) -> JetStreamContext:
        """The connection's JetStream context. The default one is made once and kept: each
        context subscribes its own reply inbox on first ``publish_async``, so a context per call
        would leak a subscription per call."""
        nc = self.nc
        if opts:
            return nc.jetstream(**opts)
        if self._js is None or self._js_conn is not nc:
            self._js, self._js_conn = nc.jetstream(), nc
        return self._js

    @property
    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def start(self) -> None:
        self._task = asyncio.create_task(self._connect_loop(), name=f"nats-connect-{self.name}")

    async def wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def _connect_loop(self) -> None:
        delay = 0.1
        while True:
            try:
                self._nc = await nats.connect(
                    servers=servers_of(self.url), name=self.name,
                    connect_timeout=self._connect_timeout,
                    allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                    error_cb=self._on_error, disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected)
            except Exception as exc:  # no server yet: keep trying, the supervisor may be starting it
                log.warning("nats connect failed", url=self.url, error=str(exc) or type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            log.info("nats connected", url=self.url)
            self._connected.set()
            self._notify_connected()
            return

    async def _on_error(self, exc: Exception) -> None:
        log.warning("nats error", error=str(exc) or type(exc).__name__)

    async def _on_disconnected(self) -> None:
        log.warning("nats disconnected")

    async def _on_reconnected(self) -> None:
        log.info("nats reconnected")
        self._notify_connected()

    def _notify_connected(self) -> None:
        for listener in self._reconnect_listeners:
            listener()

    def on_reconnect(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after the first connection and each reconnection (a watch
        starts at once, and again after a reconnection: the server may have lost its
        consumers)."""
        self._reconnect_listeners.append(listener)

    async def check(self) -> None:
        """Health check (optional: a failure degrades, never unreadies): raise unless connected."""
        if not self.is_connected:
            raise ConnectionError("not connected to NATS")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        if self._nc is not None and not self._nc.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.drain(), 2.0)
        self._nc = None


async def ensure_bucket(js: JetStreamContext, config: api.KeyValueConfig) -> Any:
    """The key-value bucket ``config.bucket``, created as ``config`` says when missing. One that
    exists with other settings (made by an older version, or by hand) is used as it is."""
    try:
        return await js.create_key_value(config=config)
    except BadRequestError:  # "stream name already in use with a different configuration"
        return await js.key_value(config.bucket)
