"""Replaying the stream: the read models rebuilt from every stored orders event, one replay at a
time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from analytics.domain.summary import Summary
from analytics.service.ports import AnalyticsUnitOfWork, EventHistory
from analytics.service.projection import rebuild, summary
from chassis.logging import get_logger

__all__ = ["Replayed", "Replays"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Replayed:
    replayed: int  # stored orders events applied, duplicates included
    summary: Summary  # the read models right after the rebuild


class Replays:
    """Rebuilds of the read models. Built once per process by the composition root; its lock
    makes a second replay wait for the first (two at once would empty each other's rebuild)."""

    def __init__(self, uow: AnalyticsUnitOfWork, history: EventHistory, *,
                 batch_size: int) -> None:
        self._uow = uow
        self._history = history
        self._batch_size = batch_size
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._lock.locked()

    async def replay(self) -> Replayed:
        """Rebuild the read models from every stored orders event, beside the live ones, and
        swap them in once the whole stream was read; ``StreamUnavailable`` when the stream cannot
        be read, ``ReplayIncomplete`` when the reading stalls: either way the live read models
        are left as they were."""
        async with self._lock:
            self._history.check()  # fail early: a replay that cannot read starts nothing
            replayed = await rebuild(self._uow, self._history.facts(),
                                     batch_size=self._batch_size)
            rebuilt = await summary(self._uow)
        log.info("read models rebuilt", replayed=replayed, orders=rebuilt.orders)
        return Replayed(replayed, rebuilt)
