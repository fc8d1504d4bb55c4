"""Where a service finds identity's signing keys: a fixed URL, or an instance found by discovery."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import aiohttp

from chassis.auth.tokens import TokenVerifier

__all__ = ["DiscoveredJwks", "UrlJwks", "verifier_from_settings"]

_TIMEOUT = aiohttp.ClientTimeout(total=2.0)


class _Picker(Protocol):
    def pick(self, service: str, *, exclude: frozenset[str] = ...) -> Any: ...


async def _get_json(session: aiohttp.ClientSession, url: str) -> Mapping[str, Any]:
    async with session.get(url, timeout=_TIMEOUT) as resp:
        resp.raise_for_status()
        document: Mapping[str, Any] = await resp.json()
        return document


class UrlJwks:
    """The JWKS at a fixed URL (``<PREFIX>JWKS_URL``)."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self._session = session
        self.url = url

    async def fetch(self) -> Mapping[str, Any]:
        return await _get_json(self._session, self.url)


class DiscoveredJwks:
    """The JWKS of a healthy identity instance, found through the discovery cache."""

    def __init__(self, session: aiohttp.ClientSession, discovery: _Picker,
                 service: str = "identity", path: str = "/v1/jwks") -> None:
        self._session = session
        self._discovery = discovery
        self._service = service
        self._path = path

    async def fetch(self) -> Mapping[str, Any]:
        instance = self._discovery.pick(self._service)
        if instance is None:
            raise ConnectionError(f"no healthy {self._service} instance to fetch keys from")
        return await _get_json(self._session, f"{instance.url}{self._path}")


def verifier_from_settings(settings: Any, session: aiohttp.ClientSession,
                           discovery: _Picker | None, *,
                           audiences: Sequence[str]) -> TokenVerifier | None:
    """The verifier a process gets from its settings: keys from ``jwks_url`` when set, else from
    a healthy identity instance found by discovery; None when it has neither."""
    if settings.jwks_url:
        source: UrlJwks | DiscoveredJwks = UrlJwks(session, settings.jwks_url)
    elif discovery is not None:
        source = DiscoveredJwks(session, discovery)
    else:
        return None
    return TokenVerifier(source, issuer=settings.jwt_issuer, audience=list(audiences),
                         leeway=settings.jwt_leeway,
                         refresh_interval=settings.jwks_refresh_seconds)
