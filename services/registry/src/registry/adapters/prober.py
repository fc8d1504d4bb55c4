"""Active health checks over HTTP: ``GET <instance>/health/ready``."""

from __future__ import annotations

import aiohttp

__all__ = ["HttpProber"]


class HttpProber:
    def __init__(self, session: aiohttp.ClientSession, timeout: float) -> None:
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def probe(self, url: str) -> tuple[bool, bool]:
        """(ok, definitive): a refused connection is definitive — nothing listens there."""
        try:
            async with self.session.get(f"{url}/health/ready", timeout=self.timeout) as resp:
                return resp.status == 200, False
        except aiohttp.ClientConnectorError as exc:
            return False, isinstance(exc.os_error, ConnectionRefusedError)
        except (TimeoutError, aiohttp.ClientError):
            return False, False
