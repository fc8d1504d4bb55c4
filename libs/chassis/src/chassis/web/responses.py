"""Responses: JSON from msgspec Structs (one encode, one write), problem+json, streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from chassis.problems import PROBLEM_JSON, Problem, problem_body
from chassis.web.request import Send

__all__ = ["JSON", "Answer", "Media", "Response", "StreamResponse", "json_response", "problem"]

JSON = "application/json"
_ENCODER = msgspec.json.Encoder()
_JSON_TYPE = b"application/json"

Headers = list[tuple[bytes, bytes]]


def _encoded(headers: Mapping[str, str] | None) -> Headers:
    return [(k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in (headers or {}).items()]


class Answer(Exception):
    """Raised by a handler, or by a helper it calls, to answer the request with ``response`` at
    once: a check shared by many routes (a page for signed-in visitors only, a form's
    cross-site check) stops the request with its own answer, and the handler reads on with
    what the check returned. Declare the statuses it answers in the route's ``responses=``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class Response:
    """A whole response: status, headers, body bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, body: bytes = b"", status: int = 200, *,
                 headers: Mapping[str, str] | None = None, media_type: str | None = None) -> None:
        self.body = body
        self.status = status
        self.headers = _encoded(headers)
        if media_type is not None:
            self.headers.append((b"content-type", media_type.encode("latin-1")))

    async def send(self, send: Send, extra: Iterable[tuple[bytes, bytes]] = (),
                   head_only: bool = False) -> None:
        headers = [*self.headers, *extra]
        if self.status not in (204, 304):
            headers.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body",
                    "body": b"" if head_only or self.status in (204, 304) else self.body})


def json_response(content: Any, status: int = 200, *,
                  headers: Mapping[str, str] | None = None) -> Response:
    """``content`` (Structs, dicts, lists …) as JSON."""
    response = Response(_ENCODER.encode(content), status, headers=headers)
    response.headers.append((b"content-type", _JSON_TYPE))
    return response


def problem(error: Problem, instance: str) -> Response:
    """The problem+json response for ``error``."""
    body = problem_body(error.status, error.slug, error.detail, title=error.title,
                        instance=instance, **error.extensions)
    return Response(body, error.status, headers=error.headers, media_type=PROBLEM_JSON)


class StreamResponse(Response):
    """A body sent as it is produced (server-sent events): chunked, no length."""

    __slots__ = ("chunks",)

    def __init__(self, chunks: AsyncIterator[bytes], *, media_type: str, status: int = 200,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(b"", status, headers=headers, media_type=media_type)
        self.chunks = chunks

    async def send(self, send: Send, extra: Iterable[tuple[bytes, bytes]] = (),
                   head_only: bool = False) -> None:
        try:  # the chunks are closed however the stream ends, even before its first one
            await send({"type": "http.response.start", "status": self.status,
                        "headers": [*self.headers, *extra]})
            if not head_only:  # a HEAD request's stream makes no chunk
                async for chunk in self.chunks:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            aclose = getattr(self.chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        await send({"type": "http.response.body", "body": b""})


@dataclass(frozen=True, slots=True)
class Media:
    """Documents a body by its media type: a success answer that is not a JSON Struct in a route's
    ``responses`` (``text/event-stream``, Prometheus text, protobuf), or a request body the
    handler reads itself (``body=``)."""

    media_type: str
    description: str = ""
