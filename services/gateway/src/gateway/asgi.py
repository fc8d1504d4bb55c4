"""ASGI vocabulary shared by the gateway's modules, and the few responses it writes itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import orjson

from chassis.context import header_value
from chassis.problems import PROBLEM_JSON, Problem, problem_body

__all__ = ["ClientGone", "Headers", "Message", "Receive", "Scope", "Send", "read_body",
           "send_bytes", "send_json", "send_problem"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

_JSON = b"application/json"


class ClientGone(Exception):
    """The client disconnected before the gateway could answer; there is no one to reply to."""


async def send_bytes(send: Send, status: int, body: bytes, content_type: bytes,
                     headers: Iterable[tuple[bytes, bytes]] = ()) -> int:
    """Send a complete response in two messages; return its status."""
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()), *headers],
    })
    await send({"type": "http.response.body", "body": body})
    return status


async def send_json(send: Send, status: int, doc: Any,
                    headers: Iterable[tuple[bytes, bytes]] = ()) -> int:
    """Send ``doc`` as ``application/json``."""
    return await send_bytes(send, status, orjson.dumps(doc), _JSON, headers)


async def send_problem(send: Send, problem: Problem, *, path: str,
                       headers: Iterable[tuple[bytes, bytes]] = ()) -> int:
    """Send a :class:`~chassis.problems.Problem` as RFC 9457 ``application/problem+json``."""
    body = problem_body(problem.status, problem.slug, problem.detail, title=problem.title,
                        instance=path, **problem.extensions)
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1"))
             for k, v in problem.headers.items()]
    return await send_bytes(send, problem.status, body, PROBLEM_JSON.encode(), [*headers, *extra])


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, refused with 413 once it exceeds ``limit`` bytes.

    A declared ``Content-Length`` is checked before anything is read; a chunked body is counted
    as it arrives. A request with neither header has no body (RFC 9112 §6.3), so nothing is read.
    """
    declared = header_value(scope, b"content-length")
    if declared is None and header_value(scope, b"transfer-encoding") is None:
        return b""
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise Problem(400, "gateway/bad-request", "Content-Length is not a number") from None
        if size > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        if chunk:
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(413, "gateway/request-too-large",
                   f"the request body exceeds the limit of {limit} bytes", limit=limit)
