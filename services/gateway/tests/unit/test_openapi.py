"""OpenAPI rewrite: servers point at the gateway, paths lose the upstream prefix."""

from __future__ import annotations

import orjson
import pytest

from gateway.openapi import rewrite_openapi, rewrite_openapi_bytes

pytestmark = pytest.mark.unit

DOC = {
    "openapi": "3.1.0",
    "info": {"title": "catalog", "version": "1"},
    "paths": {
        "/v1/products": {"get": {"operationId": "list"}},
        "/v1/products/{product_id}": {"get": {"operationId": "get"}},
        "/v1": {"get": {"operationId": "root"}},
        "/v10/other": {"get": {}},
        "/health/live": {"get": {}},
    },
    "components": {"schemas": {"Product": {"type": "object"}}},
}


def test_sets_servers_and_strips_the_upstream_prefix() -> None:
    out = rewrite_openapi(DOC, "/api/v1/catalog", "/v1")
    assert out["servers"] == [{"url": "/api/v1/catalog"}]
    assert out["paths"] == {
        "/products": {"get": {"operationId": "list"}},
        "/products/{product_id}": {"get": {"operationId": "get"}},
        "/": {"get": {"operationId": "root"}},
    }
    assert out["components"] == DOC["components"]
    assert out["info"] == DOC["info"]


def test_does_not_modify_the_original() -> None:
    rewrite_openapi(DOC, "/api/v1/catalog", "/v1")
    assert "servers" not in DOC
    assert "/v1/products" in DOC["paths"]


def test_empty_upstream_prefix_keeps_every_path() -> None:
    out = rewrite_openapi(DOC, "/api/v1/catalog", "")
    assert list(out["paths"]) == list(DOC["paths"])


def test_rewrites_bytes() -> None:
    out = orjson.loads(rewrite_openapi_bytes(orjson.dumps(DOC), "/api/v1/catalog", "/v1"))
    assert "/products/{product_id}" in out["paths"]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"paths": [1]}'])
def test_rejects_a_document_that_is_not_openapi_shaped(body: bytes) -> None:
    with pytest.raises(ValueError):
        rewrite_openapi_bytes(body, "/api/v1/catalog", "/v1")
