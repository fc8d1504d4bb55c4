"""In-process notices of status changes, for callers waiting on an order (``Prefer: wait``, the
status stream). Notices are hints sent after commit; waiters always re-read the order, and poll
as well, because another instance may have moved the saga."""

from __future__ import annotations

import asyncio
from collections import defaultdict

__all__ = ["StatusNotices"]


class StatusNotices:
    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    def notify(self, order_id: str) -> None:
        for event in self._waiters.get(order_id, ()):
            event.set()

    def watch(self, order_id: str) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters[order_id].add(event)
        return event

    def unwatch(self, order_id: str, event: asyncio.Event) -> None:
        waiters = self._waiters.get(order_id)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[order_id]
