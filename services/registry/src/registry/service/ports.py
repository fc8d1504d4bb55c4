"""What the registry's use cases need from the outside, as protocols the adapters implement."""

from __future__ import annotations

from typing import Protocol

from chassis.db import UnitOfWork
from registry.domain.directory import Instance

__all__ = ["InstanceRepository", "InstancesUnitOfWork", "ProbeResult", "Prober"]


class InstanceRepository(Protocol):
    """The durable copy of the directory, inside one transaction, so that a registry restart
    forgets nobody (heartbeats and health verdicts stay in memory)."""

    async def load(self) -> list[Instance]: ...

    async def save(self, instance: Instance) -> None: ...

    async def delete(self, instance_ids: list[str]) -> None: ...


InstancesUnitOfWork = UnitOfWork[InstanceRepository]

ProbeResult = tuple[bool, bool]  # (ok, definitive failure)


class Prober(Protocol):
    """Active health check of one instance's readiness endpoint."""

    async def probe(self, url: str) -> ProbeResult: ...
