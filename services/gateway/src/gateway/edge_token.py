"""The gateway's proof that a forwarded request comes from it: its own service token, sent
upstream in ``X-Souk-Edge-Token`` beside ``X-Forwarded-For``. A service believes the client
address the gateway forwards only with that proof (:class:`chassis.web.ClientAddress`), so a
local client cannot pick its apparent address to dodge a per-address throttle or forge an audit
log's client field."""

from __future__ import annotations

import aiohttp

from chassis.auth import ServiceTokenClient
from chassis.web.auth import EDGE_TOKEN_HEADER
from gateway.proxy import DiscoveryLike, Proxy

__all__ = ["EdgeToken"]

RENEW_EVERY = 5.0  # seconds; the token client itself renews a minute before expiry


class EdgeToken:
    """Keeps ``proxy.edge_line`` (the header's wire line, read on the hot path) current."""

    def __init__(self, tokens: ServiceTokenClient, proxy: Proxy) -> None:
        self._tokens = tokens
        self._proxy = proxy

    @classmethod
    def of(cls, proxy: Proxy, discovery: DiscoveryLike, session: aiohttp.ClientSession, *,
           service: str, secret: str) -> EdgeToken:
        def identity_url() -> str | None:
            instance = discovery.pick("identity")
            return None if instance is None else instance.url

        return cls(ServiceTokenClient(session, service=service, secret=secret,
                                      identity_url=identity_url), proxy)

    async def renew(self) -> None:
        token = await self._tokens.token()
        self._proxy.edge_line = f"{EDGE_TOKEN_HEADER}: {token}\r\n".encode("ascii")
