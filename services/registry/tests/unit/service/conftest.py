"""In-memory stand-ins for what the registry's use cases need (no sockets, no files)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from registry.domain.directory import Directory, Instance
from registry.service.ports import ProbeResult
from registry.service.registry import RegistryService


class FakeInstances:
    """An InstanceRepository over a dict, inside a FakeUnitOfWork's transaction."""

    def __init__(self, rows: dict[str, Instance]) -> None:
        self.rows = rows

    async def load(self) -> list[Instance]:
        return list(self.rows.values())

    async def save(self, instance: Instance) -> None:
        self.rows[instance.instance_id] = instance

    async def delete(self, instance_ids: list[str]) -> None:
        for instance_id in instance_ids:
            self.rows.pop(instance_id, None)


class FakeUnitOfWork:
    """Commits by keeping the changes, rolls back on an exception."""

    def __init__(self) -> None:
        self.rows: dict[str, Instance] = {}

    @asynccontextmanager
    async def __call__(self, *, readonly: bool = False) -> AsyncIterator[FakeInstances]:
        before = copy.deepcopy(self.rows)
        try:
            yield FakeInstances(self.rows)
        except BaseException:
            self.rows = before
            raise


class FakeProber:
    """Answers by URL: ok unless told otherwise; ``refused`` URLs fail definitively."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.refused: set[str] = set()
        self.probed: list[str] = []

    async def probe(self, url: str) -> ProbeResult:
        self.probed.append(url)
        if url in self.refused:
            return False, True
        return url not in self.failing, False


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def prober() -> FakeProber:
    return FakeProber()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(uow: FakeUnitOfWork, prober: FakeProber, clock: Clock) -> RegistryService:
    return RegistryService(Directory(ttl=10.0, failure_threshold=2), uow, prober, clock=clock)
