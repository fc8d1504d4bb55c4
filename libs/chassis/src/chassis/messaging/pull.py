"""A long-lived, credit-based pull from a JetStream consumer, with a plain callback.

nats-py's ``fetch()`` builds tasks, timers and an inbox per call; here one subscription on one
inbox receives every message, and pull requests top the credit up as messages arrive, so a busy
consumer always has a request waiting on the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import orjson

from chassis.logging import get_logger
from chassis.tasks import cancel_and_wait

__all__ = ["CreditPull", "delivered_count"]

log = get_logger(__name__)


def delivered_count(reply: str) -> tuple[int, int, int]:
    """(deliveries, stream sequence, pending) from a ``$JS.ACK...`` reply subject."""
    tokens = reply.split(".")
    if len(tokens) == 9:  # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
        return int(tokens[4]), int(tokens[5]), int(tokens[8])
    if len(tokens) >= 11:  # with domain and account hash
        return int(tokens[6]), int(tokens[7]), int(tokens[10])
    return 1, 0, 0


class CreditPull:
    """Keeps about ``window`` messages requested from consumer ``durable`` of ``stream``;
    ``on_message(msg)`` is called for each delivered message (synchronously, keep it cheap).

    Requests expire after ``expires`` seconds (2 s). Short on purpose: the server keeps a dead
    process's requests until they expire and hands them messages, which then wait out the ack
    wait; short requests bound how long a crash holds replies back from a saga."""

    def __init__(self, nc: Any, stream: str, durable: str, on_message: Callable[[Any], None], *,
                 window: int = 200, expires: float = 2.0, api_prefix: str = "$JS.API") -> None:
        self._nc = nc
        self._subject = f"{api_prefix}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._on_message = on_message
        self._window = window
        self._expires = expires
        self._credit = 0
        self._backlog: Callable[[], int] = lambda: 0
        self._inbox = ""
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._last_request = 0.0
        self._last_message = 0.0

    def set_backlog(self, backlog: Callable[[], int]) -> None:
        """How many delivered messages wait to be processed (they count against the window)."""
        self._backlog = backlog

    async def start(self) -> None:
        self._inbox = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_raw)
        await self.top_up()
        self._task = asyncio.create_task(self._watchdog(), name=f"pull-{self._subject}")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def _on_raw(self, msg: Any) -> None:
        headers = msg.headers
        if headers and "Status" in headers and not msg.data:
            status = headers.get("Status")
            if status in ("408", "409"):  # a request expired or was refused: its credit is gone
                left = headers.get("Nats-Pending-Messages")
                self._credit = max(0, self._credit - int(left)) if left and left.isdigit() else 0
                await self.top_up()
            return  # 404 (no messages) and 100 (heartbeat) need nothing
        self._credit = max(0, self._credit - 1)
        self._last_message = time.monotonic()
        self._on_message(msg)
        if self._credit + self._backlog() < self._window // 2:
            await self.top_up()

    async def top_up(self) -> None:
        """Request enough messages to bring credit plus backlog back to the window."""
        want = self._window - self._credit - self._backlog()
        if want < self._window // 4 or not self._nc.is_connected:
            return
        self._credit += want
        self._last_request = time.monotonic()
        request = {"batch": want, "expires": int(self._expires * 1e9)}
        await self._nc.publish(self._subject, orjson.dumps(request), reply=self._inbox)

    async def _watchdog(self) -> None:
        # Requests vanish without a status when the connection drops; once one must have
        # expired, forget the credit and ask again.
        while True:
            await asyncio.sleep(self._expires / 2)
            idle = time.monotonic() - max(self._last_request, self._last_message)
            if idle > self._expires * 1.5:
                self._credit = 0
            with contextlib.suppress(Exception):
                await self.top_up()
