"""HTTP health probes (``/health/ready``, ``/health/live``, nats ``/healthz``).

URLs always carry IP addresses, so aiohttp never starts its resolver thread: the supervisor
must stay single-threaded for its children's parent-death signal to work.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import aiohttp

__all__ = ["Prober", "probe_all", "probe_readiness"]

T = TypeVar("T")


class Prober:
    """A GET that answers True on HTTP 200 and False on anything else, including timeouts."""

    def __init__(self) -> None:
        # force_close: a restarted instance reuses its port; a pooled socket would be stale
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True, limit=0), trust_env=False)

    async def _get(self, url: str, timeout: float, body: bool) -> tuple[int, bytes] | None:
        """(status, the body when ``body``), or None when nothing answered in time."""
        try:
            async with self._session.get(
                    url, timeout=aiohttp.ClientTimeout(total=timeout),
                    allow_redirects=False) as response:
                return response.status, await response.read() if body else b""
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None

    async def __call__(self, url: str, timeout: float) -> bool:
        answer = await self._get(url, timeout, body=False)
        return answer is not None and answer[0] == 200

    async def readiness(self, url: str, timeout: float) -> tuple[bool, tuple[str, ...]]:
        """(ready, the checks failing when it is ready but degraded: ``("broker",)``)."""
        answer = await self._get(url, timeout, body=True)
        if answer is None or answer[0] != 200:
            return False, ()
        try:
            found = json.loads(answer[1])
        except ValueError:  # nats-server's /healthz says less
            return True, ()
        checks = found.get("checks") if isinstance(found, dict) else None
        if not isinstance(checks, dict) or found.get("status") != "degraded":
            return True, ()
        return True, tuple(sorted(name for name, outcome in checks.items() if outcome != "ok"))

    async def close(self) -> None:
        await self._session.close()


async def _each(urls: Sequence[str], timeout: float,
                how: Callable[[Prober, str, float], Awaitable[T]]) -> list[T]:
    prober = Prober()
    try:
        return list(await asyncio.gather(*(how(prober, url, timeout) for url in urls)))
    finally:
        await prober.close()


def probe_readiness(urls: Sequence[str], timeout: float = 1.0
                    ) -> list[tuple[bool, tuple[str, ...]]]:
    """Like :func:`probe_all`, with the optional checks each ready instance reports failing
    (a service without its broker is ready, degraded: ``souk status`` says so)."""
    if not urls:
        return []
    return asyncio.run(_each(urls, timeout, Prober.readiness))


def probe_all(urls: Sequence[str], timeout: float = 1.0) -> list[bool]:
    """Probe every URL concurrently; one bool per URL, in order."""
    if not urls:
        return []
    return asyncio.run(_each(urls, timeout, Prober.__call__))
