"""Header rewriting at the edge, both ways.

Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message, so a proxy drops
them — the fixed list, every ``Proxy-*`` header, and any header the ``Connection`` header names.
Towards the upstream the gateway also sets the ``X-Forwarded-*`` headers, the request id and the
deadline; towards the client it replaces the upstream's request id with its own.

Names arrive lower-cased from both parsers (:mod:`gateway.connection`, :mod:`chassis.http.h1`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gateway.request import Headers, Request

__all__ = ["CLIENT_IGNORED", "DEADLINE_HEADER", "EDGE_TOKEN_HEADER", "HOP_BY_HOP",
           "REQUEST_ID_HEADER", "USER_HEADER", "Relocate", "client_response_block", "client_response_headers",
           "forwarded_block", "header_block", "is_hop_by_hop", "strip_hop_by_hop",
           "upstream_request_block", "upstream_request_headers"]

REQUEST_ID_HEADER = b"x-request-id"
DEADLINE_HEADER = b"x-souk-deadline"
# the verified subject, for upstream logs only: services authenticate the token themselves
USER_HEADER = b"x-souk-user"
# the gateway's service token, its proof for X-Forwarded-For (gateway.edge_token)
EDGE_TOKEN_HEADER = b"x-souk-edge-token"

HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy", b"proxy-authenticate", b"proxy-authorization",
    b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade",
})

# Set by the gateway itself: a client-supplied value is dropped, never trusted or duplicated.
# Host and Content-Length are set for the upstream connection; Expect was answered here.
# The edge starts each trace itself, so a caller's W3C trace headers are dropped too.
_REQUEST_OWNED = frozenset({
    b"host", b"content-length", b"expect", REQUEST_ID_HEADER, DEADLINE_HEADER, USER_HEADER,
    EDGE_TOKEN_HEADER, b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"traceparent",
    b"tracestate",
})
# what a client may send but the service never sees as sent (the request id is kept when valid)
CLIENT_IGNORED = frozenset(name.decode() for name in _REQUEST_OWNED - {REQUEST_ID_HEADER})
# The gateway's server adds its own Date; duplicates confuse clients.
# A service's word that the trace of its answer is kept (chassis.trace_keep) is for the edge.
TRACE_KEPT = (b"souk-trace-keep", b"1")
# A Location names the upstream's own address and path space: it goes out only as the public
# path that leads to the same resource (Relocate: gateway.routes.Router.public_location).
_LOCATION = b"location"
_RESPONSE_OWNED = frozenset({b"date", b"server", REQUEST_ID_HEADER, TRACE_KEPT[0], _LOCATION})

# an upstream's Location as the client sees it; None: leave it out
Relocate = Callable[[bytes], bytes | None]

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


# Connection values that name no other header: the common ones skip the second pass
_PLAIN_CONNECTION = frozenset({b"keep-alive", b"close", b"Keep-Alive", b"Close"})


def _filtered(headers: Iterable[tuple[bytes, bytes]], drop: frozenset[bytes]) -> Headers:
    kept: Headers = []
    connection: list[bytes] = []
    for name, value in headers:
        if name in drop or name.startswith(b"proxy-"):
            if name == b"connection":
                connection.append(value)
            continue
        kept.append((name, value))
    if connection and not (len(connection) == 1 and connection[0] in _PLAIN_CONNECTION):
        listed = _connection_tokens(connection)  # rare: only then pay for a second pass
        kept = [(n, v) for n, v in kept if n not in listed]
    return kept


def strip_hop_by_hop(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    """Headers minus the hop-by-hop ones, names lower-cased, order kept."""
    return _filtered(((n.lower(), v) for n, v in headers), HOP_BY_HOP)


def _forwarded_headers(request: Request, drop: frozenset[bytes]) -> Headers:
    """The client's headers minus the hop-by-hop and gateway-owned ones, plus the
    ``X-Forwarded-*`` headers: everything sent upstream that does not change per request."""
    forwarded_for: list[bytes] = []
    host = b""
    for name, value in request.headers:
        if name == b"x-forwarded-for":
            forwarded_for.append(value)
        elif name == b"host":
            host = value
    out = _filtered(request.headers, (_DROP_REQUEST | drop) if drop else _DROP_REQUEST)
    if request.client:
        forwarded_for.append(request.client.encode())
    if forwarded_for:
        out.append((b"x-forwarded-for", b", ".join(forwarded_for)))
    out.append((b"x-forwarded-proto", request.scheme.encode()))
    if host:
        out.append((b"x-forwarded-host", host))
    return out


def upstream_request_headers(request: Request, request_id: bytes, deadline_ms: int, *,
                             drop: frozenset[bytes] = frozenset(),
                             user: str | None = None) -> Headers:
    """Headers to send upstream for ``request`` (Host and Content-Length excepted: they belong
    to the upstream connection and the body sent).

    ``X-Forwarded-For`` appends the client address to whatever the caller sent (the right-most
    entry is the one this gateway saw); ``X-Forwarded-Proto``/``-Host`` describe the request as
    it reached the gateway; ``X-Souk-Deadline`` is the absolute deadline in Unix milliseconds;
    ``X-Souk-User`` names the verified ``user`` (a client's own value is always dropped).
    """
    out = _forwarded_headers(request, drop)
    out.append((REQUEST_ID_HEADER, request_id))
    out.append((DEADLINE_HEADER, b"%d" % deadline_ms))
    if user is not None:
        out.append((USER_HEADER, user.encode()))
    return out


def header_block(headers: Headers) -> bytes:
    """``name: value\\r\\n`` lines."""
    return b"\r\n".join(map(b": ".join, headers)) + b"\r\n" if headers else b""


def client_response_headers(raw: Iterable[tuple[bytes, bytes]], request_id: bytes, *,
                            drop: frozenset[bytes] = frozenset(),
                            relocate: Relocate | None = None) -> Headers:
    """Headers to send the client for an upstream response (names lower-case); a ``Location``
    goes through ``relocate`` (as it is without one)."""
    raw = list(raw)
    kept = _filtered(raw, (_DROP_RESPONSE | drop) if drop else _DROP_RESPONSE)
    location = next((v for n, v in raw if n == _LOCATION), None)
    if location is not None:
        location = relocate(location) if relocate is not None else location
        if location is not None:
            kept.append((_LOCATION, location))
    kept.append((REQUEST_ID_HEADER, request_id))
    return kept


def _block(headers: Iterable[tuple[bytes, bytes]], drop: frozenset[bytes],
           out: list[bytes], noted: bytes) -> tuple[bool, bytes | None, bytes | None]:
    """Append the kept headers' wire lines to ``out`` in one pass; return (a Connection header
    named other headers, the joined X-Forwarded-For values, the value of the dropped header
    ``noted``)."""
    append = out.append
    named = False
    forwarded_for = note = None
    for name, value in headers:
        if name in drop or name.startswith(b"proxy-"):
            if name == b"x-forwarded-for":
                forwarded_for = value if forwarded_for is None else forwarded_for + b", " + value
            elif name == noted:
                note = value
            elif name == b"connection" and value not in _PLAIN_CONNECTION:
                named = True
            continue
        append(name + b": " + value + b"\r\n")
    return named, forwarded_for, note


def upstream_request_block(request: Request, request_id: bytes, deadline_ms: int, *,
                           drop: frozenset[bytes] = frozenset(),
                           user: str | None = None) -> bytes:
    """:func:`upstream_request_headers` as wire lines (the hot path).

    What does not change per request (:func:`forwarded_block`) is remembered per client
    connection: a keep-alive client sends the same headers request after request, and then only
    the request id, the deadline and the user are new."""
    conn = request.conn
    if conn is None:
        block = forwarded_block(request, drop)
    else:
        memo = conn.forward_memo
        if (memo is not None and memo[0] == request.headers
                and (memo[1] is drop or memo[1] == drop)):
            block = memo[2]
        else:
            block = forwarded_block(request, drop)
            conn.forward_memo = (request.headers, drop, block)
    if user is None:
        return b"".join((block, b"x-request-id: ", request_id,
                         b"\r\nx-souk-deadline: %d\r\n" % deadline_ms))
    return b"".join((block, b"x-request-id: ", request_id,
                     b"\r\nx-souk-deadline: %d\r\nx-souk-user: " % deadline_ms, user.encode(),
                     b"\r\n"))


def forwarded_block(request: Request, drop: frozenset[bytes] = frozenset()) -> bytes:
    """:func:`_forwarded_headers` as wire lines, built in one pass (the client's address and
    scheme are the connection's, so the block depends only on the headers and ``drop``)."""
    out: list[bytes] = []
    named, forwarded_for, host = _block(request.headers,
                                        (_DROP_REQUEST | drop) if drop else _DROP_REQUEST, out,
                                        b"host")
    if named:  # a Connection header lists headers to drop: the careful way
        return header_block(_forwarded_headers(request, drop))
    client = request.client
    if client:
        peer = client.encode()
        forwarded_for = peer if forwarded_for is None else forwarded_for + b", " + peer
    if forwarded_for is not None:
        out.append(b"x-forwarded-for: " + forwarded_for + b"\r\n")
    out.append(b"x-forwarded-proto: http\r\n" if request.scheme == "http"
               else b"x-forwarded-proto: " + request.scheme.encode() + b"\r\n")
    if host is not None:
        out.append(b"x-forwarded-host: " + host + b"\r\n")
    return b"".join(out)


def client_response_block(raw: Iterable[tuple[bytes, bytes]], request_id: bytes,
                          relocate: Relocate | None = None) -> bytes:
    """:func:`client_response_headers` as wire lines, built in one pass (the hot path)."""
    out: list[bytes] = []
    append = out.append
    location = None
    for name, value in raw:
        if name in _DROP_RESPONSE or name.startswith(b"proxy-"):
            if name == _LOCATION:
                location = value
            elif name == b"connection" and value not in _PLAIN_CONNECTION:
                # the Connection header lists headers to drop: the careful way
                return header_block(client_response_headers(raw, request_id, relocate=relocate))
            continue
        append(name + b": " + value + b"\r\n")
    if location is not None:
        location = relocate(location) if relocate is not None else location
        if location is not None:
            append(b"location: " + location + b"\r\n")
    append(b"x-request-id: " + request_id + b"\r\n")
    return b"".join(out)
