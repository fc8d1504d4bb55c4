"""What the edge checks is what the service routes: the packaged route table in front of real
upstreams (Starlette under uvicorn, which decode the path once, as every service does), with the
standard filters. One canonical path is matched and forwarded; encoded separators and dot
segments are refused; no answer names an upstream's address; admin capabilities sit behind admin
routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from yarl import URL

from chassis.testing import serve_app
from gateway.settings import packaged_routes_file

from .conftest import ISSUER

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
TYPES = "https://souk.dev/problems/"
METHODS = ["GET", "POST", "PATCH", "DELETE"]


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ISSUER.mint(roles=('admin',))}"}


def service_app(seen: list[str]) -> Starlette:
    """Enough of identity, catalog and inventory to tell which of their endpoints was reached.
    No route ends with '/': Starlette then redirects ``/v1/login/`` to its own absolute URL,
    the way the services did before chassis.web."""

    async def echo(request: Request) -> Response:
        seen.append(request.url.path)
        return JSONResponse({"path": request.url.path,
                             "raw_path": request.scope["raw_path"].decode()})

    async def created(request: Request) -> Response:
        seen.append(request.url.path)
        return JSONResponse({"id": "42"}, status_code=201,
                            headers={"Location": "/v1/products/42"})

    async def refused(request: Request) -> Response:
        """A problem as chassis.web makes one: its instance the path the service saw; or, with
        ?of=, a path of the caller's choosing (an internal one), or with ?as=json plain JSON."""
        seen.append(request.url.path)
        instance = request.query_params.get("of", request.url.path)
        doc = {"type": "https://souk.dev/problems/catalog/product-not-found",
               "title": "Not Found", "status": 404, "detail": "no product has this id",
               "instance": instance}
        media = "application/json" if request.query_params.get("as") == "json" else PROBLEM
        return JSONResponse(doc, status_code=404, media_type=media)

    return Starlette(routes=[
        Route("/v1/products/missing/{rest:path}", refused, methods=METHODS),
        Route("/v1/login", echo, methods=METHODS),
        Route("/v1/service-tokens", echo, methods=METHODS),
        Route("/v1/internal/prices", echo, methods=METHODS),
        Route("/v1/admin/stock", echo, methods=METHODS),
        Route("/v1/admin/products", created, methods=["POST"]),
        Route("/v1/products", echo, methods=METHODS),
        Route("/v1/products/{rest:path}", echo, methods=METHODS),
    ])


@pytest.fixture
def routes_file() -> Path:
    return packaged_routes_file()


@pytest.fixture
async def upstream(stack: Any, discovery: Any) -> tuple[str, list[str]]:
    seen: list[str] = []
    url = await stack.enter_async_context(serve_app(service_app(seen)))
    for service in ("identity", "catalog", "inventory"):
        discovery.add(service, f"{service}-1", url)
    return url, seen


@pytest.fixture
def start_edge(start_gateway: Any, keys: Any, upstream: Any) -> Any:
    async def start(**overrides: Any) -> str:
        return str(await start_gateway(filters=None, jwks_url=keys.url, **overrides))

    return start


async def problem(resp: Any, status: int, slug: str) -> dict[str, Any]:
    assert (resp.status, resp.content_type) == (status, PROBLEM)
    doc: dict[str, Any] = await resp.json(content_type=PROBLEM)
    assert doc["type"] == TYPES + slug
    return doc


def raw(edge: str, path: str) -> URL:
    return URL(edge + path, encoded=True)


# -- item 1: one canonical path --

async def test_an_encoded_internal_endpoint_is_404_at_the_edge(start_edge: Any, client: Any,
                                                              upstream: Any) -> None:
    edge = await start_edge()
    for path in ("/api/v1/identity/%73ervice-tokens", "/api/v1/identity/service%2Dtokens",
                 "/api/v1/catalog/%69nternal/prices"):
        async with client.post(raw(edge, path), headers=admin()) as resp:
            await problem(resp, 404, "gateway/no-route")
    assert upstream[1] == []


async def test_an_encoded_admin_path_meets_the_address_allow_list(start_edge: Any, client: Any,
                                                                  upstream: Any) -> None:
    edge = await start_edge(admin_allow="10.0.0.0/8")
    async with client.get(raw(edge, "/api/v1/inventory/%61dmin/stock"), headers=admin()) as resp:
        doc = await problem(resp, 403, "gateway/forbidden")
    assert "address" in doc["detail"]
    assert upstream[1] == []


async def test_the_canonical_path_is_what_the_upstream_receives(start_edge: Any,
                                                                client: Any) -> None:
    edge = await start_edge()
    async with client.get(raw(edge, "/api/v1/inventory/%61dmin/st%6fck"),
                          headers=admin()) as resp:
        assert resp.status == 200
        assert (await resp.json())["raw_path"] == "/v1/admin/stock"
    # other escapes stay escapes (upper-case), for the service to decode once
    async with client.get(raw(edge, "/api/v1/catalog/%70roducts/a%3ab%20c%2541")) as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert doc["raw_path"] == "/v1/products/a%3Ab%20c%2541"
    assert doc["path"] == "/v1/products/a:b c%41"


async def test_an_encoded_login_is_limited_as_login(start_edge: Any, client: Any) -> None:
    edge = await start_edge(rate_limit="100/minute", login_rate_limit="2/minute")
    statuses = []
    for path in ("/api/v1/identity/login", "/api/v1/identity/%6cogin",
                 "/api/v1/identity/%6C%6F%67%69%6E"):
        async with client.post(raw(edge, path), json={}) as resp:
            await resp.read()
            statuses.append(resp.status)
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize("path", [
    "/api/v1/catalog/products/a%2Fb", "/api/v1/catalog/products/a%2fb",
    "/api/v1/catalog/products%5c..%5cinternal", "/api/v1/catalog/products/a%00",
    "/api/v1/catalog/products/%2e%2e/internal/prices", "/api/v1/catalog/products/%2E",
    "/api/v1/catalog//internal/prices", "/api/v1/catalog/products/%zz",
])
async def test_refuses_a_path_that_decodes_to_another_structure(start_edge: Any, client: Any,
                                                                upstream: Any,
                                                                path: str) -> None:
    edge = await start_edge()
    async with client.get(raw(edge, path)) as resp:
        await problem(resp, 400, "gateway/bad-path")
        assert resp.headers["X-Request-Id"]
    assert upstream[1] == []


# -- item 2: no answer names an internal address --

async def test_a_redirect_names_the_public_path_not_the_upstream(start_edge: Any, client: Any,
                                                                 upstream: Any) -> None:
    edge = await start_edge()
    async with client.post(f"{edge}/api/v1/identity/login/", json={},
                           allow_redirects=False) as resp:
        await resp.read()
        location = resp.headers.get("Location")
        everything = str(resp.headers)
    address = upstream[0].removeprefix("http://")
    assert address not in everything
    assert resp.status == 307 and location == "/api/v1/identity/login"


async def _problem_through_the_edge(start_edge: Any, client: Any,
                                                         query: str) -> dict[str, Any]:
    edge = await start_edge()
    async with client.get(f"{edge}/api/v1/catalog/products/missing/42{query}") as resp:
        body = await resp.read()
        assert resp.headers["Content-Length"] == str(len(body))
        assert resp.status == 404
        doc: dict[str, Any] = await resp.json(content_type=None)
    return doc


async def test_a_problems_instance_is_the_public_path_not_the_upstreams(
        start_edge: Any, client: Any, upstream: Any) -> None:
    doc = await _problem_through_the_edge(start_edge, client, "")
    assert doc["instance"] == "/api/v1/catalog/products/missing/42"
    assert doc["detail"] == "no product has this id"  # the rest as the service said it
    assert upstream[1] == ["/v1/products/missing/42"]


async def test_a_problems_internal_instance_is_left_out(start_edge: Any, client: Any,
                                                        upstream: Any) -> None:
    doc = await _problem_through_the_edge(
        start_edge, client, "?of=/v1/internal/prices")
    assert "instance" not in doc and doc["status"] == 404


async def test_a_body_that_is_no_problem_passes_as_it_is(start_edge: Any, client: Any,
                                                         upstream: Any) -> None:
    doc = await _problem_through_the_edge(start_edge, client, "?as=json")
    assert doc["instance"] == "/v1/products/missing/42"


# -- item 3: admin capabilities go through admin routes --

async def test_catalog_writes_are_an_admin_route(start_edge: Any, client: Any,
                                                 upstream: Any) -> None:
    product = {"sku": "KIT-0001"}
    outside = await start_edge(admin_allow="10.0.0.0/8")
    async with client.post(f"{outside}/api/v1/catalog/admin/products", json=product,
                           headers=admin()) as resp:
        doc = await problem(resp, 403, "gateway/forbidden")
    assert "address" in doc["detail"]
    assert upstream[1] == []
    inside = await start_edge()
    async with client.post(f"{inside}/api/v1/catalog/admin/products", json=product,
                           headers=admin()) as resp:
        assert resp.status == 201
        assert resp.headers["Location"] == "/api/v1/catalog/products/42"  # public, readable
    async with client.get(f"{inside}/api/v1/catalog/products/42") as resp:
        assert (await resp.json())["path"] == "/v1/products/42"
