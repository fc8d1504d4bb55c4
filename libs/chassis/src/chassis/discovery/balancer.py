"""Load-balancing policies over a service's healthy instances."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Protocol, TypeVar

__all__ = ["Balancer", "LeastOutstanding", "RoundRobin"]


class _HasId(Protocol):
    @property
    def instance_id(self) -> str: ...


T = TypeVar("T", bound=_HasId)


class Balancer(Protocol):
    def pick(self, candidates: Sequence[T]) -> T | None: ...

    def started(self, instance_id: str) -> None: ...

    def finished(self, instance_id: str) -> None: ...


class RoundRobin:
    """Each instance in turn."""

    def __init__(self) -> None:
        self._counter = itertools.count()

    def pick(self, candidates: Sequence[T]) -> T | None:
        if not candidates:
            return None
        return candidates[next(self._counter) % len(candidates)]

    def started(self, instance_id: str) -> None:
        pass

    def finished(self, instance_id: str) -> None:
        pass


class LeastOutstanding:
    """The instance with the fewest requests in flight from this process; ties go round-robin,
    so an idle pool still spreads load."""

    def __init__(self) -> None:
        self._outstanding: dict[str, int] = {}
        self._counter = itertools.count()

    def pick(self, candidates: Sequence[T]) -> T | None:
        n = len(candidates)
        if n < 2:
            return candidates[0] if n else None
        offset = next(self._counter) % n
        best: T | None = None
        best_load = 0
        for i in range(n):
            cand = candidates[(offset + i) % n]
            load = self._outstanding.get(cand.instance_id, 0)
            if best is None or load < best_load:
                best, best_load = cand, load
        return best

    def started(self, instance_id: str) -> None:
        self._outstanding[instance_id] = self._outstanding.get(instance_id, 0) + 1

    def finished(self, instance_id: str) -> None:
        left = self._outstanding.get(instance_id, 0) - 1
        if left > 0:
            self._outstanding[instance_id] = left
        else:
            self._outstanding.pop(instance_id, None)
