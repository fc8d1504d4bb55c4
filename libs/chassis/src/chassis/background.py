"""Periodic background work: one helper for every loop a service runs beside its requests.

``runtime.background.every(1.0, sweep, name="saga-sweeper")`` runs ``sweep()`` every second until
the service stops. A failing run is logged and the next one comes on schedule; a run returning
True ("there is more") is followed by the next one at once, so a backlog drains without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from chassis.logging import get_logger
from chassis.tasks import cancel_and_wait

__all__ = ["Background"]

log = get_logger(__name__)

Work = Callable[[], Awaitable[object]]


class Background:
    """The periodic tasks of one process, stopped together."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def every(self, interval: float, work: Work, *, name: str, first_after: float = 0.0,
              max_burst: int = 50) -> None:
        """Run ``work`` every ``interval`` seconds (the first time after ``first_after``)."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        if name in self._tasks:
            raise ValueError(f"background work {name!r} is already running")
        self._tasks[name] = asyncio.create_task(
            self._loop(interval, work, name, first_after, max_burst), name=name)

    @property
    def names(self) -> list[str]:
        return sorted(self._tasks)

    async def _loop(self, interval: float, work: Work, name: str, first_after: float,
                    max_burst: int) -> None:
        await asyncio.sleep(first_after)
        while True:
            for _ in range(max_burst):  # bounded: a loop that always has more still yields
                try:
                    more = await work()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("background work failed; it runs again on schedule",
                                  work=name)
                    break
                if more is not True:
                    break
            await asyncio.sleep(interval)

    async def close(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        await cancel_and_wait(*tasks)
