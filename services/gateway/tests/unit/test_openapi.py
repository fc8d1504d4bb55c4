"""OpenAPI rewrite: servers point at the gateway, every path is the public path that leads to it
(through any exposed route of the service), and what the edge never forwards there is left out.
The routes are the shipped table's."""

from __future__ import annotations

import functools
from typing import Any

import orjson
import pytest

from gateway.openapi import rewrite_openapi, rewrite_openapi_bytes
from gateway.routes import Router, load_routes
from gateway.settings import packaged_routes_file

pytestmark = pytest.mark.unit

CATALOG = {
    "openapi": "3.1.0",
    "info": {"title": "catalog", "version": "1"},
    "paths": {
        "/v1/products": {"get": {"operationId": "list"}},
        "/v1/products/{product_id}": {"get": {"operationId": "get"}},
        "/v1": {"get": {"operationId": "root"}},
        "/v1/admin/products": {"post": {"operationId": "create"}},
        "/v1/internal/prices": {"post": {"operationId": "prices"}},
        "/v10/other": {"get": {}},
        "/health/live": {"get": {}},
    },
    "components": {"schemas": {"Product": {"type": "object"}}},
}


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load_routes(packaged_routes_file()))


def rewritten(router: Router, prefix: str, doc: dict[str, Any]) -> dict[str, Any]:
    match = router.match(prefix + "/openapi.json")
    assert match is not None
    asked = router.document(match).document_of
    assert asked is not None and asked.prefix == prefix
    return rewrite_openapi(doc, prefix, functools.partial(router.public_path, asked))


def test_sets_servers_and_makes_each_path_public(router: Router) -> None:
    out = rewritten(router, "/api/v1/catalog", CATALOG)
    assert out["servers"] == [{"url": "/api/v1/catalog"}]
    assert out["paths"] == {
        "/products": {"get": {"operationId": "list"}},
        "/products/{product_id}": {"get": {"operationId": "get"}},
        "/": {"get": {"operationId": "root"}},
        "/admin/products": {"post": {"operationId": "create"}},  # the admin route leads there
    }
    assert out["components"] == CATALOG["components"]
    assert out["info"] == CATALOG["info"]


def test_leaves_out_what_the_edge_answers_404(router: Router) -> None:
    """An internal path (a route with ``exposed = false`` shadows it), a probe, a path outside
    every route of the service: listed, a generated client would call them and get 404."""
    paths = rewritten(router, "/api/v1/catalog", CATALOG)["paths"]
    assert not {"/internal/prices", "/health/live", "/v10/other"} & set(paths)
    identity = {"paths": {"/v1/signup": {}, "/v1/me": {}, "/v1/service-tokens": {},
                          "/v1/keys/rotate": {}}}
    assert list(rewritten(router, "/api/v1/identity", identity)["paths"]) == [
        "/signup", "/me", "/keys/rotate"]


def test_a_context_whose_admin_paths_live_elsewhere_upstream_lists_them(router: Router) -> None:
    """orders serves its admin API at /v1/admin/orders; the edge publishes it at
    /api/v1/orders/admin, so the orders document lists it there."""
    doc = {"paths": {"/v1/orders": {}, "/v1/orders/{order_id}": {},
                     "/v1/admin/orders/{order_id}": {}, "/v1/admin/orders": {}}}
    assert list(rewritten(router, "/api/v1/orders", doc)["paths"]) == [
        "/", "/{order_id}", "/admin/{order_id}", "/admin"]


def test_does_not_modify_the_original(router: Router) -> None:
    rewritten(router, "/api/v1/catalog", CATALOG)
    assert "servers" not in CATALOG
    assert "/v1/products" in CATALOG["paths"]


def test_the_document_route_is_public_for_get_whatever_the_route_needs(router: Router) -> None:
    for prefix in ("/api/v1/identity", "/api/v1/analytics", "/api/v1/orders/admin"):
        match = router.match(prefix + "/openapi.json")
        assert match is not None and not match.route.is_public("GET")
        documents = router.document(match)
        assert documents.route.is_public("GET") and not documents.route.admin
        assert not documents.route.roles and not documents.route.is_public("POST")
        assert documents.route.service == match.route.service
        assert documents.upstream_path == "/openapi.json"
        assert router.document(match).route is documents.route  # made once


def test_rewrites_bytes(router: Router) -> None:
    public_path = functools.partial(router.public_path, router.table.routes[0])
    out = orjson.loads(rewrite_openapi_bytes(orjson.dumps(CATALOG), "/api/v1/catalog",
                                             public_path))
    assert "/products/{product_id}" in out["paths"]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"paths": [1]}'])
def test_rejects_a_document_that_is_not_openapi_shaped(router: Router, body: bytes) -> None:
    with pytest.raises(ValueError):
        rewrite_openapi_bytes(body, "/api/v1/catalog",
                              functools.partial(router.public_path, router.table.routes[0]))
