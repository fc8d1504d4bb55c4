"""What the registry's use cases need from the outside world."""

from __future__ import annotations

from typing import Protocol

from registry.domain.directory import Instance

__all__ = ["InstanceStore", "ProbeResult", "Prober"]


class InstanceStore(Protocol):
    """Durable copy of the directory, so a registry restart forgets nobody."""

    async def load(self) -> list[Instance]: ...

    async def save(self, instance: Instance) -> None: ...

    async def delete(self, instance_ids: list[str]) -> None: ...


ProbeResult = tuple[bool, bool]  # (ok, definitive failure)


class Prober(Protocol):
    """Active health check of one instance's readiness endpoint."""

    async def probe(self, url: str) -> ProbeResult: ...
