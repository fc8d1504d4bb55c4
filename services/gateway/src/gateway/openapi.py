"""A service's OpenAPI document, rewritten so it describes the service as seen through the gateway.

A service documents ``/v1/products/{product_id}``; through the gateway that operation is
``/api/v1/catalog/products/{product_id}``. The rewrite:

* maps every path to the public path that leads to it (through any exposed route of the
  service: orders' ``/v1/admin/orders`` is ``/api/v1/orders/admin``) and leaves out a path that
  no public path leads to (``/health/live``, ``/metrics``, an internal ``/v1/internal/...`` under
  a route with ``exposed = false``): the edge answers those 404;
* sets ``servers`` to the asked prefix's parent (``/api/v1`` for ``/api/v1/cart``), so that every
  path keeps a segment of its own: with the prefix itself as the server, the cart's own path
  would read ``/``, which a client joins to ``/api/v1/cart/``, a path that does not exist;
* leaves out the header parameters the edge sets itself (``X-Souk-Deadline``, ``X-Souk-User``,
  the trace context): a client's value never reaches the service;
* adds what the edge itself answers to every operation: its problems on any request (a URL or
  headers too long, the rate limit, no healthy instance, the deadline …), and 401 or 403 where
  the route needs a token or the admin role for that method. A status the service documents
  already keeps its schema and gains the gateway's reason in its description, and the problem
  document among its media types (the front end's 429 is a page; the edge's, a problem).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from gateway.headers import CLIENT_IGNORED
from gateway.routes import Route

__all__ = ["EDGE_ANSWERS", "rewrite_openapi", "rewrite_openapi_bytes"]

Published = Callable[[str], tuple[str, Route] | None]

# what the gateway may answer on any operation, before or instead of the service
EDGE_ANSWERS = {
    "400": "a malformed request, or a path with no canonical form: an encoded '/', a '.' or '..' "
           "segment (bad-request, bad-path)",
    "403": "a WebSocket upgrade, or a cross-origin request from an origin it does not allow "
           "(websocket-unsupported, cors-refused)",
    "408": "the request did not arrive in time (request-timeout)",
    "413": "the body is larger than it accepts (request-too-large)",
    "414": "the URL is longer than it accepts (uri-too-long)",
    "429": "the caller's rate limit is spent: try again after Retry-After (rate-limited)",
    "431": "the headers are larger than it accepts (headers-too-large)",
    "502": "the service's answer was unusable (bad-gateway)",
    "503": "no healthy instance, the service's breaker open, or the service saturated: try again "
           "after Retry-After (no-healthy-instance, circuit-open, upstream-saturated, not-ready)",
    "504": "the service did not answer within the route's deadline (upstream-timeout)",
}
_UNAUTHENTICATED = "no valid bearer token (unauthenticated)"
_FORBIDDEN = "the token lacks the role the route needs (forbidden)"
_ADMIN = "the admin role from an address in the gateway's admin allow-list (forbidden)"
_PROBLEM = "application/problem+json"
_OPERATIONS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_PROBLEM_SCHEMA = {"type": "object", "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"}, "instance": {"type": "string"}}}


def _server(prefix: str) -> str:
    """The asked prefix's parent: ``/api/v1`` for ``/api/v1/cart``, ``/`` for the root."""
    parent = prefix.rstrip("/").rsplit("/", 1)[0]
    return parent or "/"


def _relative(public: str, server: str, prefix: str) -> str | None:
    """``public`` relative to ``server``, when it lies under the asked ``prefix``."""
    if prefix != "/" and public != prefix and not public.startswith(prefix + "/"):
        return None
    return public if server == "/" else public[len(server):]


def _without_ignored(holder: dict[str, Any]) -> dict[str, Any]:
    """``holder`` (an operation or a path item) without the header parameters the edge drops
    and sets itself (``X-Souk-Deadline`` …): a client's value never reaches the service."""
    parameters = holder.get("parameters")
    if not isinstance(parameters, list):
        return holder
    kept = [p for p in parameters if not (
        isinstance(p, dict) and p.get("in") == "header"
        and str(p.get("name", "")).lower() in CLIENT_IGNORED)]
    return holder if len(kept) == len(parameters) else {**holder, "parameters": kept}


def _with_edge(operation: dict[str, Any], method: str, route: Route,
               problem: dict[str, Any]) -> dict[str, Any]:
    answers = dict(EDGE_ANSWERS)
    if not route.is_public(method.upper()):
        answers["401"] = _UNAUTHENTICATED
    if route.admin:
        answers["403"] = f"{_ADMIN}; {answers['403']}"
    elif route.roles:
        answers["403"] = f"{_FORBIDDEN}; {answers['403']}"
    responses = dict(operation.get("responses") or {})
    operation = _without_ignored(operation)
    for status, reason in answers.items():
        declared = responses.get(status)
        if isinstance(declared, dict) and "$ref" not in declared:
            said = declared.get("description") or ""
            content = declared.get("content")
            if isinstance(content, dict) and _PROBLEM not in content:
                # the service answers it otherwise (the front end's 429 page): the gateway's
                # problem document is one more way the status comes
                content = {**content, _PROBLEM: {"schema": problem}}
            responses[status] = {**declared,
                                 "description": f"{said}; or the gateway: {reason}" if said
                                 else f"the gateway: {reason}"}
            if content is not None:
                responses[status]["content"] = content
        elif declared is None:
            responses[status] = {"description": f"the gateway: {reason}",
                                 "content": {_PROBLEM: {"schema": problem}}}
    return {**operation, "responses": responses}


def rewrite_openapi(doc: dict[str, Any], public_prefix: str,
                    published: Published) -> dict[str, Any]:
    """A copy of ``doc`` as the edge serves it under ``public_prefix``; ``published(path)`` is
    the public path and route that lead to a service path (None: none does)."""
    paths = doc.get("paths") or {}
    if not isinstance(paths, dict):
        raise ValueError("'paths' is not an object")
    components = doc.get("components")
    schemas = components.get("schemas") if isinstance(components, dict) else None
    has_problem = isinstance(schemas, dict) and "Problem" in schemas
    problem = {"$ref": "#/components/schemas/Problem"} if has_problem else _PROBLEM_SCHEMA
    server = _server(public_prefix)
    public: dict[str, Any] = {}
    for path, item in paths.items():
        found = published(str(path))
        if found is None or not isinstance(item, dict):
            continue
        relative = _relative(found[0], server, public_prefix)
        if relative is None:
            continue
        public[relative] = {
            key: _with_edge(value, key, found[1], problem)
            if key in _OPERATIONS and isinstance(value, dict) else value
            for key, value in _without_ignored(item).items()}
    return {**doc, "servers": [{"url": server}], "paths": public}


def rewrite_openapi_bytes(body: bytes, public_prefix: str, published: Published) -> bytes:
    """:func:`rewrite_openapi` on a JSON document; ``ValueError`` if it is not a JSON object."""
    doc = orjson.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("the OpenAPI document is not a JSON object")
    return orjson.dumps(rewrite_openapi(doc, public_prefix, published))
