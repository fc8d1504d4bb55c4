"""HTTP health probes (``/health/ready``, ``/health/live``, nats ``/healthz``).

URLs always carry IP addresses, so aiohttp never starts its resolver thread: the supervisor
must stay single-threaded for its children's parent-death signal to work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp

__all__ = ["Prober", "probe_all", "probe_readiness"]


class Prober:
    """A GET that answers True on HTTP 200 and False on anything else, including timeouts."""

    def __init__(self) -> None:
        # force_close: a restarted instance reuses its port; a pooled socket would be stale
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True, limit=0), trust_env=False)

    async def __call__(self, url: str, timeout: float) -> bool:
        try:
            async with self._session.get(
                    url, timeout=aiohttp.ClientTimeout(total=timeout),
                    allow_redirects=False) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    async def readiness(self, url: str, timeout: float) -> tuple[bool, tuple[str, ...]]:
        """(ready, the checks failing when it is ready but degraded: ``("broker",)``)."""
        try:
            async with self._session.get(
                    url, timeout=aiohttp.ClientTimeout(total=timeout),
                    allow_redirects=False) as response:
                if response.status != 200:
                    return False, ()
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    return True, ()
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False, ()
        checks = body.get("checks") if isinstance(body, dict) else None
        if not isinstance(checks, dict) or body.get("status") != "degraded":
            return True, ()
        return True, tuple(sorted(name for name, outcome in checks.items() if outcome != "ok"))

    async def close(self) -> None:
        await self._session.close()


async def _probe_all(urls: Sequence[str], timeout: float) -> list[bool]:
    prober = Prober()
    try:
        return list(await asyncio.gather(*(prober(url, timeout) for url in urls)))
    finally:
        await prober.close()


async def _readiness_all(urls: Sequence[str], timeout: float
                         ) -> list[tuple[bool, tuple[str, ...]]]:
    prober = Prober()
    try:
        return list(await asyncio.gather(*(prober.readiness(url, timeout) for url in urls)))
    finally:
        await prober.close()


def probe_readiness(urls: Sequence[str], timeout: float = 1.0
                    ) -> list[tuple[bool, tuple[str, ...]]]:
    """Like :func:`probe_all`, with the optional checks each ready instance reports failing
    (a service without its broker is ready, degraded: ``souk status`` says so)."""
    if not urls:
        return []
    return asyncio.run(_readiness_all(urls, timeout))


def probe_all(urls: Sequence[str], timeout: float = 1.0) -> list[bool]:
    """Probe every URL concurrently; one bool per URL, in order."""
    if not urls:
        return []
    return asyncio.run(_probe_all(urls, timeout))
