"""OpenAPI rewrite: servers point at the gateway, every path is the public path that leads to it
(through any exposed route of the service), what the edge never forwards there is left out, and
every operation documents what the edge itself answers. The routes are the shipped table's."""

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
    return rewrite_openapi(doc, prefix, functools.partial(router.published, asked))


def operations(doc: dict[str, Any]) -> dict[str, str]:
    return {path: item[method]["operationId"] for path, item in doc["paths"].items()
            for method in item}


def test_sets_servers_and_makes_each_path_public(router: Router) -> None:
    out = rewritten(router, "/api/v1/catalog", CATALOG)
    # the prefix's parent: the catalog's own path keeps a segment ("/catalog", never "/")
    assert out["servers"] == [{"url": "/api/v1"}]
    assert operations(out) == {
        "/catalog/products": "list",
        "/catalog/products/{product_id}": "get",
        "/catalog": "root",
        "/catalog/admin/products": "create",  # the admin route leads there
    }
    assert out["components"] == CATALOG["components"]
    assert out["info"] == CATALOG["info"]


def test_leaves_out_what_the_edge_answers_404(router: Router) -> None:
    """An internal path (a route with ``exposed = false`` shadows it), a probe, a path outside
    every route of the service: listed, a generated client would call them and get 404."""
    paths = rewritten(router, "/api/v1/catalog", CATALOG)["paths"]
    assert not {"/catalog/internal/prices", "/health/live", "/v10/other"} & set(paths)
    identity = {"paths": {"/v1/signup": {}, "/v1/me": {}, "/v1/service-tokens": {},
                          "/v1/keys/rotate": {}}}
    assert list(rewritten(router, "/api/v1/identity", identity)["paths"]) == [
        "/identity/signup", "/identity/me", "/identity/keys/rotate"]


def test_a_context_whose_admin_paths_live_elsewhere_upstream_lists_them(router: Router) -> None:
    """orders serves its admin API at /v1/admin/orders; the edge publishes it at
    /api/v1/orders/admin, so the orders document lists it there."""
    doc = {"paths": {"/v1/orders": {}, "/v1/orders/{order_id}": {},
                     "/v1/admin/orders/{order_id}": {}, "/v1/admin/orders": {}}}
    assert list(rewritten(router, "/api/v1/orders", doc)["paths"]) == [
        "/orders", "/orders/{order_id}", "/orders/admin/{order_id}", "/orders/admin"]
    # asked through the admin route: its paths only, under its parent
    admin = rewritten(router, "/api/v1/orders/admin", doc)
    assert admin["servers"] == [{"url": "/api/v1/orders"}]
    assert list(admin["paths"]) == ["/admin/{order_id}", "/admin"]


def test_every_operation_documents_what_the_edge_answers(router: Router) -> None:
    problem = {"$ref": "#/components/schemas/Problem"}
    doc = {"paths": {
        "/v1/products": {"get": {"operationId": "list", "responses": {
            "200": {"description": "a page"},
            "503": {"description": "overloaded", "content": {"application/problem+json": {
                "schema": problem}}}}}},
        "/v1/admin/products": {"post": {"operationId": "create", "responses": {}}},
    }, "components": {"schemas": {"Problem": {"type": "object"}}}}
    paths = rewritten(router, "/api/v1/catalog", doc)["paths"]
    listing = paths["/catalog/products"]["get"]["responses"]
    assert {"400", "408", "413", "414", "429", "431", "502", "504"} <= set(listing)
    assert listing["429"]["content"]["application/problem+json"]["schema"] == problem
    assert listing["200"] == {"description": "a page"}
    # a status the service documents keeps its schema, with the gateway's reason added
    assert listing["503"]["content"]["application/problem+json"]["schema"] == problem
    assert listing["503"]["description"].startswith("overloaded; or the gateway: no healthy")
    assert "401" not in listing  # catalog reads are public at the edge
    create = paths["/catalog/admin/products"]["post"]["responses"]
    assert create["401"]["description"] == "the gateway: no valid bearer token (unauthenticated)"
    assert "admin allow-list" in create["403"]["description"]
    assert set(doc["paths"]["/v1/products"]["get"]["responses"]) == {"200", "503"}  # a copy


def test_a_status_the_service_answers_as_a_page_may_come_as_the_edges_problem_too(
        router: Router) -> None:
    """The front end's sign-in answers 429 as a page (identity's throttle); the edge's log-in
    limit answers 429 as a problem document on the same operation."""
    page = {"text/html": {"schema": {"type": "string"}}}
    doc = {"paths": {"/signin": {"post": {"operationId": "sign_in", "responses": {
        "303": {"description": "signed in"},
        "429": {"description": "throttled", "content": page}}}}}}
    paths = rewritten(router, "/signin", doc)["paths"]
    throttled = paths["/signin"]["post"]["responses"]["429"]
    assert set(throttled["content"]) == {"text/html", "application/problem+json"}
    assert throttled["description"].startswith("throttled; or the gateway: the caller's rate")
    assert set(doc["paths"]["/signin"]["post"]["responses"]["429"]["content"]) == {"text/html"}


def test_the_headers_the_edge_sets_itself_are_no_parameters_there(router: Router) -> None:
    deadline = {"in": "header", "name": "x-souk-deadline", "schema": {"type": "integer"}}
    request_id = {"in": "header", "name": "X-Request-ID", "schema": {"type": "string"}}
    sku = {"in": "path", "name": "sku", "required": True, "schema": {"type": "string"}}
    doc = {"paths": {"/v1/products/{sku}": {
        "parameters": [sku, {**deadline, "name": "X-Souk-Deadline"}],
        "get": {"parameters": [deadline, request_id, {"$ref": "#/components/parameters/p"}]}}}}
    item = rewritten(router, "/api/v1/catalog", doc)["paths"]["/catalog/products/{sku}"]
    assert item["parameters"] == [sku]
    # the request id is kept: the edge answers with a valid one it was given
    assert item["get"]["parameters"] == [request_id, {"$ref": "#/components/parameters/p"}]


def test_does_not_modify_the_original(router: Router) -> None:
    rewritten(router, "/api/v1/catalog", CATALOG)
    assert "servers" not in CATALOG
    assert "/v1/products" in CATALOG["paths"]


def test_the_document_route_is_public_for_get_whatever_the_route_needs(router: Router) -> None:
    for prefix in ("/api/v1/identity", "/api/v1/analytics", "/api/v1/orders/admin",
                   "/api/v1/identity/login"):
        match = router.match(prefix + "/openapi.json")
        assert match is not None
        assert match.route.is_public("GET") == (prefix == "/api/v1/identity/login")
        documents = router.document(match)
        assert documents.route.is_public("GET") and not documents.route.admin
        assert documents.route.is_public("HEAD")
        assert not documents.route.roles and not documents.route.is_public("POST")
        assert documents.route.service == match.route.service
        assert documents.route.rate_limit == "default"
        assert documents.upstream_path == "/openapi.json"
        assert router.document(match).route is documents.route  # made once


def test_rewrites_bytes(router: Router) -> None:
    published = functools.partial(router.published, router.table.routes[0])
    out = orjson.loads(rewrite_openapi_bytes(orjson.dumps(CATALOG), "/api/v1/catalog",
                                             published))
    assert "/catalog/products/{product_id}" in out["paths"]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"paths": [1]}'])
def test_rejects_a_document_that_is_not_openapi_shaped(router: Router, body: bytes) -> None:
    with pytest.raises(ValueError):
        rewrite_openapi_bytes(body, "/api/v1/catalog",
                              functools.partial(router.published, router.table.routes[0]))
