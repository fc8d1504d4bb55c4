"""Header rewriting at the edge, both ways.

Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message, so a proxy drops
them — the fixed list, every ``Proxy-*`` header, and any header the ``Connection`` header names.
Towards the upstream the gateway also sets the ``X-Forwarded-*`` headers, the request id and the
deadline; towards the client it replaces the upstream's request id with its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.asgi import Headers, Scope

__all__ = ["DEADLINE_HEADER", "HOP_BY_HOP", "REQUEST_ID_HEADER", "USER_HEADER",
           "client_response_headers",
           "is_hop_by_hop", "strip_hop_by_hop", "upstream_request_headers"]

REQUEST_ID_HEADER = b"x-request-id"
DEADLINE_HEADER = b"x-souk-deadline"
# the verified subject, for upstream logs only: services authenticate the token themselves
USER_HEADER = b"x-souk-user"

HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy", b"proxy-authenticate", b"proxy-authorization",
    b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade",
})

# Set by the gateway itself: a client-supplied value is dropped, never trusted or duplicated.
# Host and Content-Length are recomputed by the upstream client; Expect was answered here.
# The edge starts each trace itself, so a caller's W3C trace headers are dropped too.
_REQUEST_OWNED = frozenset({
    b"host", b"content-length", b"expect", REQUEST_ID_HEADER, DEADLINE_HEADER, USER_HEADER,
    b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"traceparent",
    b"tracestate",
})
# The gateway's server adds its own Date (and Server, when enabled); duplicates confuse clients.
_RESPONSE_OWNED = frozenset({b"date", b"server", REQUEST_ID_HEADER})

_DROP_REQUEST = HOP_BY_HOP | _REQUEST_OWNED
_DROP_RESPONSE = HOP_BY_HOP | _RESPONSE_OWNED


def is_hop_by_hop(name: bytes) -> bool:
    """Whether a lower-case header name is hop-by-hop by definition."""
    return name in HOP_BY_HOP or name.startswith(b"proxy-")


def _connection_tokens(values: Iterable[bytes]) -> frozenset[bytes]:
    tokens: set[bytes] = set()
    for value in values:
        for token in value.split(b","):
            token = token.strip().lower()
            if token:
                tokens.add(token)
    return frozenset(tokens)


def _filtered(headers: Iterable[tuple[bytes, bytes]], drop: frozenset[bytes]) -> Headers:
    kept: Headers = []
    connection: list[bytes] = []
    for name, value in headers:
        name = name.lower()
        if name in drop or name.startswith(b"proxy-"):
            if name == b"connection":
                connection.append(value)
            continue
        kept.append((name, value))
    if connection:  # rare: only then pay for a second pass
        listed = _connection_tokens(connection)
        kept = [(n, v) for n, v in kept if n not in listed]
    return kept


def strip_hop_by_hop(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    """Headers minus the hop-by-hop ones, names lower-cased, order kept."""
    return _filtered(headers, HOP_BY_HOP)


def upstream_request_headers(scope: Scope, request_id: str, deadline_ms: int, *,
                             drop: frozenset[bytes] = frozenset(),
                             user: str | None = None) -> list[tuple[str, str]]:
    """Headers to send upstream for the request in ``scope``.

    ``X-Forwarded-For`` appends the client address to whatever the caller sent (the right-most
    entry is the one this gateway saw); ``X-Forwarded-Proto``/``-Host`` describe the request as
    it reached the gateway; ``X-Souk-Deadline`` is the absolute deadline in Unix milliseconds;
    ``X-Souk-User`` names the verified ``user`` (a client's own value is always dropped).
    """
    forwarded_for: list[bytes] = []
    host = b""
    for name, value in scope["headers"]:
        if name == b"x-forwarded-for":
            forwarded_for.append(value)
        elif name == b"host":
            host = value
    kept = _filtered(scope["headers"], (_DROP_REQUEST | drop) if drop else _DROP_REQUEST)
    out = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in kept]
    client = scope.get("client")
    if client:
        forwarded_for.append(str(client[0]).encode())
    if forwarded_for:
        out.append(("x-forwarded-for", b", ".join(forwarded_for).decode("latin-1")))
    out.append(("x-forwarded-proto", str(scope.get("scheme", "http"))))
    if host:
        out.append(("x-forwarded-host", host.decode("latin-1")))
    out.append(("x-request-id", request_id))
    out.append(("x-souk-deadline", str(deadline_ms)))
    if user is not None:
        out.append(("x-souk-user", user))
    return out


def client_response_headers(raw: Iterable[tuple[bytes, bytes]], request_id: bytes, *,
                            drop: frozenset[bytes] = frozenset()) -> Headers:
    """Headers to send the client for an upstream response (aiohttp's ``raw_headers``)."""
    kept = _filtered(raw, (_DROP_RESPONSE | drop) if drop else _DROP_RESPONSE)
    kept.append((REQUEST_ID_HEADER, request_id))
    return kept
