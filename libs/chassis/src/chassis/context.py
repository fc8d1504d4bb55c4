"""Per-request context as raw ASGI middleware: request id, log context, RED metrics, and the
server span of the request's trace (continuing the caller's W3C ``traceparent``).

Raw ASGI rather than ``BaseHTTPMiddleware``: it costs a few microseconds instead of a task hop.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog

from chassis.ids import new_id
from chassis.metrics import HttpMetrics
from chassis.tracing import NO_TRACING, SpanKind, StatusCode, Tracing, extract

__all__ = ["REQUEST_ID_HEADER", "RequestContextMiddleware", "header_value", "valid_request_id"]

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_BYTES = REQUEST_ID_HEADER.encode()
_TRACEPARENT = b"traceparent"
_TRACESTATE = b"tracestate"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def header_value(scope: Scope, name: bytes) -> bytes | None:
    """First value of a (lower-case) request header, or None."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def valid_request_id(raw: bytes | None) -> str | None:
    """Accept a caller's request id only if it is short and printable, so it is safe in logs."""
    if raw and len(raw) <= 128 and all(33 <= b <= 126 for b in raw):
        return raw.decode("ascii")
    return None


class RequestContextMiddleware:
    """Assigns or propagates ``X-Request-Id``, binds it to the log context, records RED metrics."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics, tracing: Tracing = NO_TRACING) -> None:
        self.app = app
        self.metrics = metrics
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.tracing.enabled and (parent := header_value(scope, _TRACEPARENT)) is not None:
            await self._traced(scope, receive, send, parent)
            return
        await self._handle(scope, receive, send)

    async def _traced(self, scope: Scope, receive: Receive, send: Send, parent: bytes) -> None:
        # Services continue traces, they do not start them: the edge (the gateway) does. So
        # heartbeats, discovery watches, probes, scrapes and operators' direct calls, which
        # come without a traceparent, make no traces of their own.
        carrier = {"traceparent": parent.decode("latin-1")}
        if (state := header_value(scope, _TRACESTATE)) is not None:
            carrier["tracestate"] = state.decode("latin-1")
        method = scope["method"]
        status = 500

        async def send_seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self.tracing.span(f"{method} {scope['path']}", kind=SpanKind.SERVER,
                               parent=extract(carrier),
                               attributes={"http.request.method": method,
                                           "url.path": scope["path"]}) as span:
            try:
                await self._handle(scope, receive, send_seen)
            finally:
                template = getattr(scope.get("route"), "path", None)
                if template:
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = valid_request_id(header_value(scope, _REQUEST_ID_BYTES)) or new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        rid_header = (_REQUEST_ID_BYTES, request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), rid_header]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - start)
