"""Registry use cases: register, heartbeat, deregister, watch, and the rounds of health checks
and eviction the composition root runs in the background."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from chassis.ids import new_id
from chassis.logging import get_logger
from registry.domain.directory import PASSING, Directory, Instance
from registry.service.ports import InstancesUnitOfWork, Prober

__all__ = ["RegistryService", "ServiceSummary", "Snapshot"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    epoch: str
    version: int
    instances: list[Instance]


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    name: str
    instances: int
    passing: int


class RegistryService:
    """Owns the directory; persists registrations; wakes watchers on every visible change."""

    def __init__(self, directory: Directory, uow: InstancesUnitOfWork, prober: Prober, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.uow = uow
        self.prober = prober
        self.clock = clock
        self.epoch = new_id()  # a watcher that saw another epoch must take a fresh snapshot
        self._changed = asyncio.Condition()

    async def restore(self) -> None:
        """Load the instances a previous run registered (each gets a fresh heartbeat window)."""
        async with self.uow(readonly=True) as instances:
            self.directory.restore(await instances.load(), self.clock())

    async def register(self, instance_id: str, service: str, url: str,
                       metadata: dict[str, str]) -> Instance:
        """Raises NotYourInstance when another service registered ``instance_id``."""
        inst, changed = self.directory.register(instance_id, service, url, metadata, self.clock())
        async with self.uow() as instances:
            await instances.save(inst)
        if changed:
            log.info("instance registered", instance_id=instance_id, of_service=service, url=url)
            await self._notify()
        return inst

    async def heartbeat(self, instance_id: str, service: str) -> Instance:
        """Raises UnknownInstance when the registry forgot it (it must register again)."""
        return self.directory.heartbeat(instance_id, service, self.clock())

    async def deregister(self, instance_id: str, service: str) -> None:
        """Idempotent: an unknown instance is already gone."""
        if self.directory.deregister(instance_id, service):
            async with self.uow() as instances:
                await instances.delete([instance_id])
            log.info("instance deregistered", instance_id=instance_id)
            await self._notify()

    def snapshot(self) -> Snapshot:
        return Snapshot(self.epoch, self.directory.version, self.directory.all())

    def services(self) -> list[ServiceSummary]:
        """Every service with instances, by name, with how many of them pass their checks."""
        counts: dict[str, list[int]] = {}
        for inst in self.directory.all():
            entry = counts.setdefault(inst.service, [0, 0])
            entry[0] += 1
            entry[1] += inst.status == PASSING
        return [ServiceSummary(name, total, passing)
                for name, (total, passing) in sorted(counts.items())]

    async def watch(self, epoch: str, version: int, timeout: float) -> Snapshot:
        """At once if the caller's view is stale, else when something changes or at timeout."""
        if epoch == self.epoch and version == self.directory.version and timeout > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout), self._changed:
                    await self._changed.wait_for(lambda: self.directory.version != version)
        return self.snapshot()

    async def check_all(self) -> None:
        """One round of active health checks, every instance concurrently."""
        instances = self.directory.all()
        results = await asyncio.gather(*(self.prober.probe(i.url) for i in instances))
        flipped = False
        for inst, (ok, definitive) in zip(instances, results, strict=True):
            if self.directory.record_check(inst.instance_id, ok, definitive=definitive):
                flipped = True
                log.info("instance health changed", instance_id=inst.instance_id,
                         status="passing" if ok else "critical")
        if flipped:
            await self._notify()

    async def evict_expired(self) -> None:
        """Forget the instances that sent no heartbeat within the TTL."""
        expired = self.directory.evict_expired(self.clock())
        if expired:
            async with self.uow() as instances:
                await instances.delete([i.instance_id for i in expired])
            for inst in expired:
                log.warning("instance evicted: no heartbeat within ttl",
                            instance_id=inst.instance_id)
            await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
