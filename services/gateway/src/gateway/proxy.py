"""The upstream call: pick an instance, send the request, relay the response.

One pooled ``aiohttp.ClientSession`` carries every upstream call (measured here: a pooled aiohttp
proxy does ~8k req/s where httpx does ~0.7k). Failures map to problems, never to a bare 500:

* no healthy instance → 503 ``gateway/no-healthy-instance`` with ``Retry-After: 1``;
* connection refused or connect timeout → the request never left, so whatever the method the
  instance is ejected for a while and another one is tried (at most ``max_retries`` times);
* no answer within the route's timeout → 504 ``gateway/upstream-timeout``;
* anything else, or every attempt refused → 502 ``gateway/bad-gateway``.

A connection that breaks after the request was written is not retried here: the upstream may have
acted on it. (aiohttp itself retries idempotent methods once when a pooled connection turns out
to be stale.)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Protocol

import aiohttp
from yarl import URL

from chassis.discovery import Balancer, Instance
from chassis.logging import get_logger
from chassis.problems import Problem
from gateway.asgi import Receive, Scope, Send, send_bytes
from gateway.headers import client_response_headers, upstream_request_headers
from gateway.metrics import GatewayMetrics
from gateway.routes import Route

__all__ = ["SMALL_BODY", "DiscoveryLike", "Proxy", "Rewrite"]

log = get_logger(__name__)

# Responses up to this size are read whole and sent in one message: fewer sends, and a failure
# while reading can still become a proper 502/504. Larger or unsized bodies are streamed.
SMALL_BODY = 64 * 1024

Rewrite = Callable[[bytes], bytes]

_REWRITE_DROPS = frozenset({b"content-length", b"content-encoding", b"content-type", b"etag"})
_JSON = b"application/json"


class DiscoveryLike(Protocol):
    """What the gateway needs of :class:`chassis.discovery.Discovery` (tests pass a fake)."""

    registry_reachable: bool

    def instances(self, service: str) -> tuple[Instance, ...]: ...

    def pick(self, service: str, *, exclude: frozenset[str] = ...) -> Instance | None: ...

    def balancer(self, service: str) -> Balancer: ...

    def eject(self, instance_id: str, seconds: float) -> None: ...


class Proxy:
    """Forwards one request to one healthy instance of a route's service."""

    def __init__(self, session: aiohttp.ClientSession, discovery: DiscoveryLike,
                 metrics: GatewayMetrics, *, default_timeout: float, connect_timeout: float,
                 max_retries: int, eject_seconds: float) -> None:
        self.session = session
        self.discovery = discovery
        self.metrics = metrics
        self.default_timeout = default_timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.eject_seconds = eject_seconds
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _client_timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        # sock_read bounds the wait for the response head and every later silence in the body,
        # without cutting off a long download that keeps flowing
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(
                total=None, sock_connect=self.connect_timeout, sock_read=seconds)
        return timeout

    async def forward(self, route: Route, target: str, scope: Scope, receive: Receive,
                      send: Send, request_id: str, body: bytes, *,
                      rewrite: Rewrite | None = None,
                      drop_headers: frozenset[bytes] = frozenset()) -> int:
        """Send the request to ``target`` (path and query) on an instance of ``route.service``
        and relay the answer to the client; return the status sent.

        ``rewrite``, when given, transforms a 200 body (read whole) before it is sent.
        Raises :class:`~chassis.problems.Problem` while nothing has been sent yet.
        """
        service = route.service
        seconds = route.timeout or self.default_timeout
        client_timeout = self._client_timeout(seconds)
        deadline_ms = int((time.time() + seconds) * 1000)
        headers = upstream_request_headers(scope, request_id, deadline_ms, drop=drop_headers)
        method: str = scope["method"]
        data = body or None
        balancer = self.discovery.balancer(service)
        refused: list[str] = []
        for _ in range(self.max_retries + 1):
            instance = (self.discovery.pick(service, exclude=frozenset(refused)) if refused
                        else self.discovery.pick(service))
            if instance is None:
                break
            instance_id = instance.instance_id
            balancer.started(instance_id)
            try:
                try:
                    resp = await self.session.request(
                        method, URL(instance.url + target, encoded=True), headers=headers,
                        data=data, allow_redirects=False, timeout=client_timeout)
                except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                    self._refused(service, instance_id, exc, request_id)
                    refused.append(instance_id)
                    continue
                except TimeoutError:
                    self.metrics.attempt(service, "timeout")
                    raise _timeout(service, seconds) from None
                except aiohttp.ClientError as exc:
                    self.metrics.attempt(service, "error")
                    raise _bad_gateway(service, exc, request_id) from None
                self.metrics.attempt(service, "response")
                return await self._relay(resp, service, seconds, send, receive, request_id,
                                         rewrite)
            finally:
                balancer.finished(instance_id)
        if refused:
            raise Problem(502, "gateway/bad-gateway",
                          f"every instance of '{service}' tried refused the connection",
                          service=service, attempts=len(refused))
        raise Problem(503, "gateway/no-healthy-instance",
                      f"no healthy instance of '{service}' is registered",
                      headers={"Retry-After": "1"}, service=service)

    def _refused(self, service: str, instance_id: str, exc: Exception, request_id: str) -> None:
        self.metrics.attempt(service, "connect_error")
        self.discovery.eject(instance_id, self.eject_seconds)
        self.metrics.ejected(instance_id, self.eject_seconds)
        log.warning("upstream refused the connection; ejected, trying another instance",
                    upstream=service, upstream_instance=instance_id, request_id=request_id,
                    error=str(exc) or type(exc).__name__)

    async def _relay(self, resp: aiohttp.ClientResponse, service: str, seconds: float,
                     send: Send, receive: Receive, request_id: str,
                     rewrite: Rewrite | None) -> int:
        status = resp.status
        rid = request_id.encode()
        try:
            if rewrite is not None and status == 200:
                body = await _read_whole(resp, service, seconds, request_id)
                try:
                    body = rewrite(body)
                except ValueError as exc:
                    raise Problem(502, "gateway/bad-gateway",
                                  f"'{service}' returned an unusable document: {exc}") from None
                headers = client_response_headers(resp.raw_headers, rid, drop=_REWRITE_DROPS)
                return await send_bytes(send, status, body, _JSON, headers)
            headers = client_response_headers(resp.raw_headers, rid)
            length = resp.content_length
            if length is not None and length <= SMALL_BODY:
                body = await _read_whole(resp, service, seconds, request_id)
                await send({"type": "http.response.start", "status": status,
                            "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return status
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await _stream(resp, service, send, receive, request_id)
            return status
        finally:
            # a no-op once the body was read to the end; otherwise the connection can't be reused
            resp.close()


async def _read_whole(resp: aiohttp.ClientResponse, service: str, seconds: float,
                      request_id: str) -> bytes:
    try:
        return await resp.read()
    except TimeoutError:
        raise _timeout(service, seconds) from None
    except aiohttp.ClientError as exc:
        raise _bad_gateway(service, exc, request_id) from None


async def _stream(resp: aiohttp.ClientResponse, service: str, send: Send, receive: Receive,
                  request_id: str) -> None:
    """Relay the body chunk by chunk; ASGI ``send`` waits while the client is slow, so memory
    stays bounded. Stops early when the client goes away."""
    gone = asyncio.ensure_future(_client_disconnect(receive))
    try:
        async for chunk in resp.content.iter_any():
            if gone.done():
                return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    except Exception as exc:
        # the head is already sent: the client learns of the failure from a truncated body
        log.warning("upstream response broke off mid-body", upstream=service,
                    request_id=request_id, error=str(exc) or type(exc).__name__)
    finally:
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gone


async def _client_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _timeout(service: str, seconds: float) -> Problem:
    return Problem(504, "gateway/upstream-timeout",
                   f"'{service}' did not answer within {seconds:g} s", service=service)


def _bad_gateway(service: str, exc: Exception, request_id: str) -> Problem:
    log.warning("upstream call failed", upstream=service, request_id=request_id,
                error=str(exc) or type(exc).__name__)
    return Problem(502, "gateway/bad-gateway", f"'{service}' failed: {type(exc).__name__}",
                   service=service)
