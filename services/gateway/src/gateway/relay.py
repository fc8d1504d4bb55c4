"""Relaying an upstream response to the client, and the problems an upstream failure becomes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson

from chassis.http import SendFailed
from chassis.http.h1 import H1Response
from chassis.logging import get_logger
from chassis.problems import Problem
from gateway.headers import Relocate, client_response_headers
from gateway.request import ClientGone, Request

__all__ = ["SMALL_BODY", "Rewrite", "bad_gateway_problem", "public_problem", "relay",
           "timeout_problem"]

log = get_logger(__name__)

# Responses up to this size (with a Content-Length) arrive whole and leave in one write, head and
# body together; a failure while reading can still become a proper 502/504. Larger or unsized
# bodies (server-sent events, downloads) are streamed as they arrive.
SMALL_BODY = 64 * 1024

Rewrite = Callable[[bytes], bytes]

_REWRITE_DROPS = frozenset({b"content-length", b"content-encoding", b"content-type", b"etag"})
_JSON = b"application/json"
_PROBLEM = b"application/problem+json"
RawHeaders = Sequence[tuple[bytes, bytes]]


def public_problem(status: int, raw: RawHeaders, body: bytes,
                   relocate: Relocate | None) -> tuple[RawHeaders, bytes]:
    """A service's problem as a client of the edge must see it. Its ``instance`` is the request's
    path in the service's own path space (``/v1/cart/items/X``): it goes out as the public path
    that leads there (``/api/v1/cart/items/X``), as a ``Location`` does, or not at all when no
    public path does. Anything else (a success, another media type, a compressed or unreadable
    body) passes as it is; on the hot path this is one comparison."""
    if status < 400 or relocate is None or not body.startswith(b"{"):
        return raw, body
    framing = {name: value for name, value in raw
               if name in (b"content-type", b"content-encoding")}
    if not framing.get(b"content-type", b"").startswith(_PROBLEM) or b"content-encoding" in framing:
        return raw, body
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return raw, body
    instance = doc.get("instance") if isinstance(doc, dict) else None
    if not isinstance(instance, str) or not instance.startswith("/"):
        return raw, body
    public = relocate(instance.encode())
    if public is None:
        del doc["instance"]
    elif public.decode(errors="replace") != instance:
        doc["instance"] = public.decode(errors="replace")
    else:
        return raw, body
    body = orjson.dumps(doc)
    headers = [(name, value) for name, value in raw if name != b"content-length"]
    headers.append((b"content-length", b"%d" % len(body)))
    return headers, body


async def relay(resp: H1Response, service: str, seconds: float, request: Request,
                request_id: bytes, rewrite: Rewrite | None,
                relocate: Relocate | None = None) -> int:
    """Send the upstream response to the client (its ``Location`` through ``relocate``);
    return its status."""
    status = resp.status
    if rewrite is not None and status == 200:
        body = await _read_whole(resp, service, seconds)
        try:
            body = rewrite(body)
        except ValueError as exc:
            raise Problem(502, "gateway/bad-gateway",
                          f"'{service}' returned an unusable document: {exc}") from None
        headers = client_response_headers(resp.headers, request_id, drop=_REWRITE_DROPS,
                                          relocate=relocate)
        return request.respond_bytes(status, body, _JSON, headers)
    if resp.complete and resp.body is not None:
        raw, body = public_problem(status, resp.headers, resp.body, relocate)
        request.respond(status, client_response_headers(raw, request_id, relocate=relocate), body)
        return status
    headers = client_response_headers(resp.headers, request_id, relocate=relocate)
    request.start(status, headers, resp.content_length)
    await _stream(resp, service, request)
    return status


async def _read_whole(resp: H1Response, service: str, seconds: float) -> bytes:
    try:
        return await resp.read()
    except TimeoutError:
        raise timeout_problem(service, seconds) from None
    except SendFailed as exc:
        raise bad_gateway_problem(service, exc) from None
    finally:
        resp.close()


async def _stream(resp: H1Response, service: str, request: Request) -> None:
    """Relay the body as it arrives; waits while the client is slow (memory stays bounded),
    stops when the client goes away (closing the upstream connection, so the upstream stops
    producing too)."""
    request.on_disconnect = resp.close
    try:
        while chunk := await resp.next_chunk():
            request.write(chunk)
            await request.drain()
        request.end()
    except ClientGone:
        pass
    except (SendFailed, TimeoutError) as exc:
        # the head is already sent: the client learns of the failure from a truncated body
        if not request.gone:
            log.warning("upstream response broke off mid-body", upstream=service,
                        error=str(exc) or type(exc).__name__)
    finally:
        request.on_disconnect = None
        resp.close()


def timeout_problem(service: str, seconds: float) -> Problem:
    return Problem(504, "gateway/upstream-timeout",
                   f"'{service}' did not answer within {seconds:g} s", service=service)


def bad_gateway_problem(service: str, exc: Exception) -> Problem:
    log.warning("upstream call failed", upstream=service, error=str(exc) or type(exc).__name__)
    return Problem(502, "gateway/bad-gateway", f"'{service}' failed: {type(exc).__name__}",
                   service=service)
