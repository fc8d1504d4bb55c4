"""Header rewriting: hop-by-hop stripping both ways, forwarding headers, request id."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.headers import client_response_headers, strip_hop_by_hop, upstream_request_headers

pytestmark = pytest.mark.unit


def scope(headers: list[tuple[bytes, bytes]], **extra: Any) -> dict[str, Any]:
    return {"type": "http", "scheme": "http", "client": ("10.0.0.7", 5555),
            "headers": headers, **extra}


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
    sent = dict(upstream_request_headers(
        scope([(b"host", b"shop.example"), (b"accept", b"application/json"),
               (b"content-length", b"12"), (b"connection", b"keep-alive"),
               (b"x-request-id", b"client-supplied"), (b"x-souk-deadline", b"1")],
              scheme="https"),
        "rid-1", 1_700_000_000_000))
    assert sent == {
        "accept": "application/json",
        "x-forwarded-for": "10.0.0.7",
        "x-forwarded-proto": "https",
        "x-forwarded-host": "shop.example",
        "x-request-id": "rid-1",
        "x-souk-deadline": "1700000000000",
    }


def test_forwarded_for_appends_the_client_address() -> None:
    sent = upstream_request_headers(
        scope([(b"x-forwarded-for", b"192.0.2.1"), (b"x-forwarded-for", b"198.51.100.2")]),
        "rid", 0)
    assert ("x-forwarded-for", "192.0.2.1, 198.51.100.2, 10.0.0.7") in sent


def test_upstream_headers_keep_repeated_end_to_end_headers_in_order() -> None:
    sent = upstream_request_headers(
        scope([(b"cookie", b"a=1"), (b"cookie", b"b=2"), (b"accept-encoding", b"gzip")]),
        "rid", 0, drop=frozenset({b"accept-encoding"}))
    assert [h for h in sent if h[0] in ("cookie", "accept-encoding")] == [
        ("cookie", "a=1"), ("cookie", "b=2")]


def test_client_headers_replace_the_upstream_request_id_and_server_date() -> None:
    raw = [(b"Content-Type", b"application/json"), (b"Content-Length", b"2"),
           (b"Date", b"Mon"), (b"Server", b"uvicorn"), (b"X-Request-Id", b"upstream"),
           (b"Transfer-Encoding", b"chunked"), (b"Set-Cookie", b"a=1"),
           (b"Set-Cookie", b"b=2")]
    assert client_response_headers(raw, b"rid-9") == [
        (b"content-type", b"application/json"), (b"content-length", b"2"),
        (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"x-request-id", b"rid-9")]
