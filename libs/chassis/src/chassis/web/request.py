"""The request a handler sees: method, path, headers, query, body, and who the caller is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from chassis.auth.principal import Principal
from chassis.problems import Problem

__all__ = ["ADMITTED", "Receive", "Request", "Scope", "Send"]

# the scope's key for the admission bound that counts the request (chassis.web.admission)
ADMITTED = "souk.admitted"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Request:
    """One HTTP request, parsed lazily: only what a handler touches is decoded."""

    __slots__ = ("_body", "_headers", "_query", "_receive", "max_body", "method", "path",
                 "path_params", "principal", "request_id", "scope")

    def __init__(self, scope: Scope, receive: Receive, *, request_id: str = "",
                 max_body: int = 1024 * 1024) -> None:
        self.scope = scope
        self._receive = receive
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.path_params: dict[str, str] = {}
        self.request_id = request_id
        self.principal: Principal | None = None
        self.max_body = max_body
        self._headers: dict[str, str] | None = None
        self._query: dict[str, list[str]] | None = None
        self._body: bytes | None = None

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case names; a repeated header keeps its first value."""
        if self._headers is None:
            headers: dict[str, str] = {}
            for key, value in self.scope["headers"]:
                headers.setdefault(key.decode("latin-1"), value.decode("latin-1"))
            self._headers = headers
        return self._headers

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            raw = self.scope.get("query_string", b"")
            self._query = parse_qs(raw.decode("latin-1"), keep_blank_values=True) if raw else {}
        return self._query

    @property
    def client_host(self) -> str:
        client = self.scope.get("client")
        return str(client[0]) if client else ""

    def waiting(self) -> None:
        """This request's work is done and it now only waits (a long poll): the service's
        admission bound stops counting it, so waits that hold no work never refuse others'
        work. Bound them apart (per caller, in all)."""
        admission = self.scope.pop(ADMITTED, None)
        if admission is not None:
            admission.leave()

    async def disconnected(self) -> None:
        """Return once the client has hung up: a long poll races this against its wait, so it
        stops waiting for nobody (the server never cancels a handler). A body not yet read is
        discarded."""
        while (await self._receive())["type"] != "http.disconnect":
            pass

    async def body(self) -> bytes:
        """The whole body; 413 problem past ``max_body`` bytes (checked as it arrives)."""
        if self._body is not None:
            return self._body
        length = self.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise _too_large(self.max_body)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise Problem(400, "client-disconnected", "the client went away mid-request")
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > self.max_body:
                    raise _too_large(self.max_body)
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        self._body = b"".join(chunks)
        return self._body


def _too_large(limit: int) -> Problem:
    return Problem(413, "too-large", f"the request body is larger than {limit} bytes")
