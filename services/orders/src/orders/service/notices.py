"""In-process notices of status changes, for callers waiting on an order (``Prefer: wait``, the
status stream). Notices are hints sent after commit; waiters re-read the order when woken, and
poll as well, because another instance may have moved the saga.

A waiter for the final state is woken only by it, and is handed the final order with the notice:
a checkout moves through three states, and re-reading the order at each one (or once at the end)
cost more than the saga step itself.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from orders.domain.order import Order

__all__ = ["StatusNotices"]


class StatusNotices:
    def __init__(self) -> None:
        self._every: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._final: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._finished: dict[str, Order] = {}

    def notify(self, order_id: str, *, final: Order | None = None) -> None:
        """The order changed; ``final`` is the order as committed when that change ended it."""
        for event in self._every.get(order_id, ()):
            event.set()
        if final is not None and order_id in self._final:
            self._finished[order_id] = final
            for event in self._final[order_id]:
                event.set()

    def finished(self, order_id: str) -> Order | None:
        """The final order a notice brought, if one did."""
        return self._finished.get(order_id)

    def watch(self, order_id: str, *, final_only: bool) -> asyncio.Event:
        event = asyncio.Event()
        (self._final if final_only else self._every)[order_id].add(event)
        return event

    def unwatch(self, order_id: str, event: asyncio.Event) -> None:
        for waiters in (self._every, self._final):
            found = waiters.get(order_id)
            if found is not None and event in found:
                found.discard(event)
                if not found:
                    del waiters[order_id]
        if order_id not in self._final:
            self._finished.pop(order_id, None)
