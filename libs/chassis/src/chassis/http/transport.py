"""The I/O boundary of the service client: one HTTP exchange, no policy.

:class:`AiohttpTransport` is the real one (a pooled ``aiohttp.ClientSession``); unit tests give
the client a fake with the same method. Failures are reduced to what the retry policy must know:
:class:`ConnectFailed` (the request never left: safe to send anywhere else), :class:`TimeoutError`
(no answer in time), :class:`SendFailed` (it may have arrived: only an idempotent call may be
repeated).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from yarl import URL

__all__ = ["AiohttpTransport", "ConnectFailed", "RawResponse", "SendFailed", "Transport"]


class ConnectFailed(Exception):
    """No connection was made (refused, unreachable, connect timeout): nothing was sent."""


class SendFailed(Exception):
    """The connection broke after the request may have been sent."""


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    async def send(self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None,
                   timeout: float) -> RawResponse:
        """One exchange, answered within ``timeout`` seconds or :class:`TimeoutError`."""
        ...


class AiohttpTransport:
    """Sends over a shared ``aiohttp.ClientSession`` (its pool keeps connections alive)."""

    def __init__(self, session: aiohttp.ClientSession, *, connect_timeout: float = 0.5) -> None:
        self.session = session
        self.connect_timeout = connect_timeout

    async def send(self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None,
                   timeout: float) -> RawResponse:
        client_timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=min(self.connect_timeout, timeout))
        try:
            async with self.session.request(method, URL(url, encoded=True), headers=headers,
                                            data=body, allow_redirects=False,
                                            timeout=client_timeout) as resp:
                return RawResponse(resp.status, resp.headers, await resp.read())
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise ConnectFailed(str(exc) or type(exc).__name__) from exc
        except TimeoutError:
            raise
        except aiohttp.ClientError as exc:
            raise SendFailed(str(exc) or type(exc).__name__) from exc
