"""Header rewriting: hop-by-hop stripping both ways, forwarding headers, request id."""

from __future__ import annotations

import pytest

from gateway.headers import (
    client_response_headers,
    header_block,
    strip_hop_by_hop,
    upstream_request_headers,
)
from gateway.request import Request

pytestmark = pytest.mark.unit


def scope(headers: list[tuple[bytes, bytes]], scheme: str = "http") -> Request:
    # the server hands headers over with lower-case names
    return Request("GET", "/x", b"", [(n.lower(), v) for n, v in headers], "10.0.0.7",
                   scheme=scheme)


def text(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(n.decode(), v.decode()) for n, v in headers]


def test_strips_every_hop_by_hop_header() -> None:
    headers = [
        (b"Connection", b"keep-alive"), (b"Keep-Alive", b"timeout=5"), (b"TE", b"trailers"),
        (b"Trailer", b"Expires"), (b"Transfer-Encoding", b"chunked"), (b"Upgrade", b"h2c"),
        (b"Proxy-Authorization", b"Basic x"), (b"Proxy-Connection", b"close"),
        (b"Proxy-Anything", b"1"), (b"Proxy", b"http://evil"),
        (b"Content-Type", b"text/plain"), (b"Cache-Control", b"no-store"),
    ]
    assert strip_hop_by_hop(headers) == [(b"content-type", b"text/plain"),
                                         (b"cache-control", b"no-store")]


def test_strips_headers_named_in_connection() -> None:
    headers = [(b"connection", b"close, X-Secret ,x-other"), (b"x-secret", b"1"),
               (b"x-other", b"2"), (b"x-kept", b"3")]
    assert strip_hop_by_hop(headers) == [(b"x-kept", b"3")]


def test_upstream_headers_set_forwarding_request_id_and_deadline() -> None:
    sent = dict(text(upstream_request_headers(
        scope([(b"host", b"shop.example"), (b"accept", b"application/json"),
               (b"content-length", b"12"), (b"connection", b"keep-alive"),
               (b"x-request-id", b"client-supplied"), (b"x-souk-deadline", b"1")],
              scheme="https"),
        b"rid-1", 1_700_000_000_000)))
    assert sent == {
        "accept": "application/json",
        "x-forwarded-for": "10.0.0.7",
        "x-forwarded-proto": "https",
        "x-forwarded-host": "shop.example",
        "x-request-id": "rid-1",
        "x-souk-deadline": "1700000000000",
    }


def test_forwarded_for_appends_the_client_address() -> None:
    sent = text(upstream_request_headers(
        scope([(b"x-forwarded-for", b"192.0.2.1"), (b"x-forwarded-for", b"198.51.100.2")]),
        b"rid", 0))
    assert ("x-forwarded-for", "192.0.2.1, 198.51.100.2, 10.0.0.7") in sent


def test_upstream_headers_keep_repeated_end_to_end_headers_in_order() -> None:
    sent = text(upstream_request_headers(
        scope([(b"cookie", b"a=1"), (b"cookie", b"b=2"), (b"accept-encoding", b"gzip")]),
        b"rid", 0, drop=frozenset({b"accept-encoding"})))
    assert [h for h in sent if h[0] in ("cookie", "accept-encoding")] == [
        ("cookie", "a=1"), ("cookie", "b=2")]


def test_client_headers_replace_the_upstream_request_id_and_server_date() -> None:
    raw = [(b"Content-Type", b"application/json"), (b"Content-Length", b"2"),
           (b"Date", b"Mon"), (b"Server", b"uvicorn"), (b"X-Request-Id", b"upstream"),
           (b"Transfer-Encoding", b"chunked"), (b"Set-Cookie", b"a=1"),
           (b"Set-Cookie", b"b=2")]
    raw = [(n.lower(), v) for n, v in raw]  # both parsers hand names over lower-cased
    assert client_response_headers(raw, b"rid-9") == [
        (b"content-type", b"application/json"), (b"content-length", b"2"),
        (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"x-request-id", b"rid-9")]


def test_the_verified_user_goes_upstream_and_a_header_block_is_wire_format() -> None:
    sent = upstream_request_headers(scope([(b"x-souk-user", b"forged")]), b"rid", 7, user="u-1")
    assert [v for n, v in sent if n == b"x-souk-user"] == [b"u-1"]
    assert header_block([(b"a", b"1"), (b"b", b"2")]) == b"a: 1\r\nb: 2\r\n"


@pytest.mark.parametrize("headers", [
    [(b"host", b"a:1"), (b"accept", b"*/*"), (b"authorization", b"Bearer x")],
    [(b"host", b"a:1"), (b"connection", b"keep-alive"), (b"x-forwarded-for", b"192.0.2.1"),
     (b"x-forwarded-for", b"198.51.100.2"), (b"cookie", b"a=1"), (b"cookie", b"b=2")],
    [(b"connection", b"close, x-secret"), (b"x-secret", b"1"), (b"x-kept", b"2"),
     (b"proxy-anything", b"z"), (b"te", b"trailers"), (b"transfer-encoding", b"chunked")],
    [(b"x-request-id", b"theirs"), (b"x-souk-user", b"forged"), (b"traceparent", b"00-x"),
     (b"accept-encoding", b"gzip"), (b"date", b"Mon"), (b"server", b"up")],
])
def test_the_one_pass_wire_lines_match_the_reference(headers: list[tuple[bytes, bytes]]) -> None:
    from gateway.headers import client_response_block, upstream_request_block

    for user in (None, "u-1"):
        for drop in (frozenset(), frozenset({b"accept-encoding"})):
            request = scope(headers)
            assert upstream_request_block(request, b"rid", 5, drop=drop, user=user) == \
                header_block(upstream_request_headers(request, b"rid", 5, drop=drop, user=user))
    assert client_response_block(headers, b"rid") == \
        header_block(client_response_headers(headers, b"rid"))


@pytest.mark.parametrize("public", [b"/api/v1/x/42", None])
def test_an_upstream_location_goes_out_only_as_relocate_makes_it(public: bytes | None) -> None:
    from gateway.headers import client_response_block

    raw = [(b"location", b"http://10.1.2.3:8001/v1/x/42"), (b"content-length", b"0")]
    seen: list[bytes] = []

    def relocate(location: bytes) -> bytes | None:
        seen.append(location)
        return public

    expected = [(b"content-length", b"0"), *([(b"location", public)] if public else []),
                (b"x-request-id", b"rid")]
    assert client_response_headers(raw, b"rid", relocate=relocate) == expected
    assert client_response_block(raw, b"rid", relocate) == header_block(expected)
    assert seen == [b"http://10.1.2.3:8001/v1/x/42"] * 2


def test_a_connection_reuses_its_forwarded_lines_only_while_its_headers_repeat() -> None:
    from types import SimpleNamespace

    from gateway.connection import Connection, Limits
    from gateway.headers import upstream_request_block

    conn = Connection(SimpleNamespace(limits=Limits()))  # type: ignore[arg-type]
    first = [(b"host", b"a:1"), (b"cookie", b"a=1")]
    sequence = [first, list(first), [(b"host", b"a:1"), (b"cookie", b"a=2")],
                [(b"connection", b"close, cookie"), (b"host", b"a:1"), (b"cookie", b"a=2")],
                [(b"host", b"a:1")], first]
    for headers in sequence:
        for drop in (frozenset(), frozenset({b"cookie"}), frozenset()):
            request = scope(headers)
            request.conn = conn
            assert upstream_request_block(request, b"rid", 5, drop=drop, user="u") == \
                header_block(upstream_request_headers(request, b"rid", 5, drop=drop, user="u"))
