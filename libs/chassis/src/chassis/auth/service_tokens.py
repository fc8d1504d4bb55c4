"""This service's own identity: a short-lived service token from identity, renewed before expiry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp

__all__ = ["ServiceTokenClient"]


class ServiceTokenClient:
    """Exchanges the service's credentials (``<PREFIX>SERVICE_SECRET``) for a service token and
    keeps it fresh; concurrent callers share one request."""

    def __init__(self, session: aiohttp.ClientSession, *, service: str, secret: str,
                 identity_url: Callable[[], str | None], renew_before: float = 60.0) -> None:
        self._session = session
        self._service = service
        self._secret = secret
        self._identity_url = identity_url
        self._renew_before = renew_before
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if time.time() < self._expires_at - self._renew_before:
            return self._token
        async with self._lock:
            if time.time() >= self._expires_at - self._renew_before:
                await self._renew()
        return self._token

    async def authorization(self) -> dict[str, str]:
        """The header to attach to an outgoing internal call."""
        return {"Authorization": f"Bearer {await self.token()}"}

    async def _renew(self) -> None:
        base = self._identity_url()
        if base is None:
            raise ConnectionError("no healthy identity instance to get a service token from")
        async with self._session.post(
            f"{base}/v1/service-tokens", json={"service": self._service, "secret": self._secret},
            timeout=aiohttp.ClientTimeout(total=3.0),
        ) as resp:
            resp.raise_for_status()
            body = await resp.json()
        self._token = str(body["access_token"])
        self._expires_at = time.time() + float(body["expires_in"])
