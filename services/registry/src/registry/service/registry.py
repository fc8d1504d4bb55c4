"""Registry use cases: register, heartbeat, deregister, watch, and the background health loops."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from chassis.ids import new_id
from chassis.logging import get_logger
from registry.domain.directory import Directory, Instance
from registry.service.ports import InstanceStore, Prober

__all__ = ["RegistryService", "Snapshot"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    epoch: str
    version: int
    instances: list[Instance]


class RegistryService:
    """Owns the directory; persists registrations; wakes watchers on every visible change."""

    def __init__(self, directory: Directory, store: InstanceStore, prober: Prober, *,
                 check_interval: float, clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.store = store
        self.prober = prober
        self.check_interval = check_interval
        self.clock = clock
        self.epoch = new_id()  # a watcher that saw another epoch must take a fresh snapshot
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.directory.restore(await self.store.load(), self.clock())
        self._tasks = [asyncio.create_task(self._check_loop(), name="registry-health-checks"),
                       asyncio.create_task(self._evict_loop(), name="registry-eviction")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def register(self, instance_id: str, service: str, url: str,
                       metadata: dict[str, str]) -> Instance:
        inst, changed = self.directory.register(instance_id, service, url, metadata, self.clock())
        await self.store.save(inst)
        if changed:
            log.info("instance registered", instance_id=instance_id, of_service=service, url=url)
            await self._notify()
        return inst

    async def heartbeat(self, instance_id: str) -> Instance:
        return self.directory.heartbeat(instance_id, self.clock())

    async def deregister(self, instance_id: str) -> None:
        if self.directory.deregister(instance_id):
            await self.store.delete([instance_id])
            log.info("instance deregistered", instance_id=instance_id)
            await self._notify()

    def snapshot(self) -> Snapshot:
        return Snapshot(self.epoch, self.directory.version, self.directory.all())

    async def watch(self, epoch: str, version: int, timeout: float) -> Snapshot:
        """Return at once if the caller's view is stale, else when something changes or at timeout."""
        if epoch == self.epoch and version == self.directory.version and timeout > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout), self._changed:
                    await self._changed.wait_for(lambda: self.directory.version != version)
        return self.snapshot()

    async def check_all(self) -> None:
        """One round of active health checks, all instances concurrently."""
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
        expired = self.directory.evict_expired(self.clock())
        if expired:
            await self.store.delete([i.instance_id for i in expired])
            for inst in expired:
                log.warning("instance evicted: no heartbeat within ttl", instance_id=inst.instance_id)
            await self._notify()

    async def _check_loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.check_all()
            except Exception:
                log.exception("health check round failed")
            await asyncio.sleep(max(0.0, self.check_interval - (time.monotonic() - started)))

    async def _evict_loop(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.directory.ttl / 4))
            try:
                await self.evict_expired()
            except Exception:
                log.exception("eviction round failed")

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
