"""Relaying an upstream response to the client, and the problems an upstream failure becomes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp

from chassis.logging import get_logger
from chassis.problems import Problem
from gateway.asgi import Receive, Send, send_bytes
from gateway.headers import client_response_headers

__all__ = ["SMALL_BODY", "Rewrite", "bad_gateway_problem", "relay", "timeout_problem"]

log = get_logger(__name__)

# Responses up to this size are read whole and sent in one message: fewer sends, and a failure
# while reading can still become a proper 502/504. Larger or unsized bodies are streamed.
SMALL_BODY = 64 * 1024

Rewrite = Callable[[bytes], bytes]

_REWRITE_DROPS = frozenset({b"content-length", b"content-encoding", b"content-type", b"etag"})
_JSON = b"application/json"


async def relay(resp: aiohttp.ClientResponse, service: str, seconds: float, send: Send,
                receive: Receive, request_id: str, rewrite: Rewrite | None) -> int:
    """Send the upstream response to the client; return its status. Small bodies are read whole
    (a failure can still become a 502/504), larger or unsized ones are streamed."""
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
        raise timeout_problem(service, seconds) from None
    except aiohttp.ClientError as exc:
        raise bad_gateway_problem(service, exc, request_id) from None


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


def timeout_problem(service: str, seconds: float) -> Problem:
    return Problem(504, "gateway/upstream-timeout",
                   f"'{service}' did not answer within {seconds:g} s", service=service)


def bad_gateway_problem(service: str, exc: Exception, request_id: str) -> Problem:
    log.warning("upstream call failed", upstream=service, request_id=request_id,
                error=str(exc) or type(exc).__name__)
    return Problem(502, "gateway/bad-gateway", f"'{service}' failed: {type(exc).__name__}",
                   service=service)
