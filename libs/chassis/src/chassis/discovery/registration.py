"""Registration: announce this instance once it serves, heartbeat, re-register when forgotten."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import aiohttp

from chassis.logging import get_logger
from chassis.tasks import cancel_and_wait

__all__ = ["Registration"]

log = get_logger(__name__)


class Registration:
    """Keeps one instance registered for as long as it runs.

    The instance first waits for its own ``/health/ready`` to answer 200, so the registry never
    lists a process that is still starting; then it heartbeats every ``interval`` seconds. A 404 on
    heartbeat means the registry forgot it (restart with lost state, eviction after a pause): it
    registers again. ``stop()`` deregisters so traffic drains before the process exits.

    Every call carries the service's credential (``secret``, HTTP Basic with the service's
    name): the registry admits only the instances of a service that proves who it is.
    """

    def __init__(self, registry_url: str, *, service: str, instance_id: str, url: str,
                 secret: str, interval: float = 2.0,
                 metadata: Mapping[str, Any] | None = None) -> None:
        self.registry_url = registry_url.rstrip("/")
        self.service = service
        self.instance_id = instance_id
        self.url = url.rstrip("/")
        self.interval = interval
        self.metadata = dict(metadata or {})
        self._auth = {"Authorization": aiohttp.encode_basic_auth(service, secret)}
        self.registered = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0),
                                              headers=self._auth)
        self._task = asyncio.create_task(self._run(), name="registry-registration")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        if self._session is not None:
            if self.registered.is_set():
                with contextlib.suppress(Exception):
                    async with self._session.delete(
                        f"{self.registry_url}/v1/instances/{self.instance_id}",
                        timeout=aiohttp.ClientTimeout(total=1.0),
                    ):
                        pass
            await self._session.close()

    async def _run(self) -> None:
        await self._wait_until_serving()
        warned = False
        while True:
            try:
                if not self.registered.is_set():
                    await self._register()
                else:
                    await self._heartbeat()
                warned = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not warned:
                    log.warning("registry call failed; will retry",
                                error=str(exc) or type(exc).__name__)
                    warned = True
            await asyncio.sleep(self.interval)

    async def _wait_until_serving(self) -> None:
        assert self._session is not None
        while True:
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with self._session.get(f"{self.url}/health/ready") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.05)

    async def _register(self) -> None:
        assert self._session is not None
        body = {"service": self.service, "url": self.url, "metadata": self.metadata}
        async with self._session.put(
            f"{self.registry_url}/v1/instances/{self.instance_id}", json=body
        ) as resp:
            resp.raise_for_status()
        self.registered.set()
        log.info("registered", registry=self.registry_url, url=self.url)

    async def _heartbeat(self) -> None:
        assert self._session is not None
        async with self._session.put(
            f"{self.registry_url}/v1/instances/{self.instance_id}/heartbeat"
        ) as resp:
            if resp.status == 404:
                log.warning("registry forgot this instance; registering again")
                self.registered.clear()
                await self._register()
                return
            resp.raise_for_status()
