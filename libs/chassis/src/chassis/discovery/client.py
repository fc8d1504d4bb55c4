"""Discovery client: a cached view of the registry, kept fresh by a long-poll watch.

Reads never touch the network: ``instances("catalog")`` answers from the cache. A background task
long-polls ``GET /v1/watch`` and swaps in each new snapshot within milliseconds of a change. While
the registry is unreachable the cache keeps serving the last known instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from chassis.discovery.balancer import Balancer, RoundRobin
from chassis.logging import get_logger
from chassis.tasks import cancel_and_wait

__all__ = ["Discovery", "Instance"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Instance:
    """One registered process of a service."""

    instance_id: str
    service: str
    url: str
    status: str = "passing"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Instance:
        return cls(instance_id=doc["instance_id"], service=doc["service"], url=doc["url"],
                   status=doc.get("status", "passing"), metadata=doc.get("metadata") or {})


class Discovery:
    """Cached, watched view of the registry, with per-process ejection of failing instances."""

    def __init__(self, registry_url: str, *, session: aiohttp.ClientSession | None = None,
                 watch_timeout: float = 20.0, balancer_factory: type[Balancer] = RoundRobin) -> None:
        self.registry_url = registry_url.rstrip("/")
        self._session = session
        self._own_session = session is None
        self._watch_timeout = watch_timeout
        self._balancer_factory = balancer_factory
        self._balancers: dict[str, Balancer] = {}
        self._healthy: dict[str, tuple[Instance, ...]] = {}
        self._ejected: dict[str, float] = {}
        self._epoch = ""
        self._version = -1
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self.registry_reachable = False
        self.last_sync: float = 0.0

    async def start(self, *, initial_timeout: float = 2.0) -> None:
        """Take a first snapshot (best effort) and start watching."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        with contextlib.suppress(Exception):
            await self._poll(timeout=0, request_timeout=initial_timeout)
        self._task = asyncio.create_task(self._watch(), name="discovery-watch")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        if self._own_session and self._session is not None:
            await self._session.close()

    def instances(self, service: str) -> tuple[Instance, ...]:
        """Healthy instances from the cache, minus those this process ejected recently."""
        found = self._healthy.get(service, ())
        if not self._ejected or not found:
            return found
        now = time.monotonic()
        usable = tuple(i for i in found if self._ejected.get(i.instance_id, 0.0) <= now)
        # if everything is ejected, trying a suspect beats failing outright
        return usable or found

    def pick(self, service: str, *, exclude: frozenset[str] = frozenset()) -> Instance | None:
        candidates = self.instances(service)
        if exclude:
            candidates = tuple(i for i in candidates if i.instance_id not in exclude)
        return self.balancer(service).pick(candidates)

    def balancer(self, service: str) -> Balancer:
        bal = self._balancers.get(service)
        if bal is None:
            bal = self._balancers[service] = self._balancer_factory()
        return bal

    def eject(self, instance_id: str, seconds: float) -> None:
        """Stop picking an instance for a while (after a refused connection, say)."""
        self._ejected[instance_id] = time.monotonic() + seconds

    async def wait_for(self, service: str, timeout: float) -> tuple[Instance, ...]:
        """Wait until the cache holds a healthy instance of ``service``."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: bool(self._healthy.get(service)))
        return self.instances(service)

    async def _watch(self) -> None:
        delay = 0.2
        while True:
            try:
                await self._poll(timeout=self._watch_timeout,
                                 request_timeout=self._watch_timeout + 5.0)
                delay = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.registry_reachable:
                    log.warning("registry unreachable; serving from cache",
                                error=str(exc) or type(exc).__name__)
                self.registry_reachable = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _poll(self, *, timeout: float, request_timeout: float) -> None:
        assert self._session is not None
        params = {"epoch": self._epoch, "version": str(self._version), "timeout": str(timeout)}
        async with self._session.get(
            f"{self.registry_url}/v1/watch", params=params,
            timeout=aiohttp.ClientTimeout(total=request_timeout),
        ) as resp:
            resp.raise_for_status()
            snapshot = await resp.json()
        await self._apply(snapshot)

    async def _apply(self, snapshot: Mapping[str, Any]) -> None:
        healthy: dict[str, list[Instance]] = {}
        for doc in snapshot.get("instances", ()):
            inst = Instance.from_json(doc)
            if inst.status == "passing":
                healthy.setdefault(inst.service, []).append(inst)
        for group in healthy.values():
            group.sort(key=lambda i: i.instance_id)
        self._healthy = {k: tuple(v) for k, v in healthy.items()}
        self._epoch = str(snapshot.get("epoch", ""))
        self._version = int(snapshot.get("version", -1))
        self.registry_reachable = True
        self.last_sync = time.monotonic()
        async with self._changed:
            self._changed.notify_all()
