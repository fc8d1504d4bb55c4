"""A service's OpenAPI document, rewritten so it describes the service as seen through the gateway.

A service documents ``/v1/products/{product_id}``; through the gateway that operation is
``/api/v1/catalog/products/{product_id}``. The rewrite sets ``servers`` to the route's public
prefix and strips the route's upstream prefix from every path, so generated clients and "try it"
buttons call the gateway. Paths outside the upstream prefix (``/health/live``, ``/metrics``) are
not reachable through the gateway and are left out.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["OPENAPI_PATH", "rewrite_openapi", "rewrite_openapi_bytes"]

OPENAPI_PATH = "/openapi.json"


def _public_path(path: str, upstream_prefix: str) -> str | None:
    if not upstream_prefix:
        return path
    if path == upstream_prefix:
        return "/"
    if path.startswith(upstream_prefix + "/"):
        return path[len(upstream_prefix):]
    return None


def rewrite_openapi(doc: dict[str, Any], public_prefix: str, upstream_prefix: str) -> dict[str, Any]:
    """A copy of ``doc`` with ``servers`` set to ``public_prefix`` and paths made public."""
    paths = doc.get("paths") or {}
    if not isinstance(paths, dict):
        raise ValueError("'paths' is not an object")
    public: dict[str, Any] = {}
    for path, item in paths.items():
        new = _public_path(str(path), upstream_prefix)
        if new is not None:
            public[new] = item
    return {**doc, "servers": [{"url": public_prefix}], "paths": public}


def rewrite_openapi_bytes(body: bytes, public_prefix: str, upstream_prefix: str) -> bytes:
    """:func:`rewrite_openapi` on a JSON document; ``ValueError`` if it is not a JSON object."""
    doc = orjson.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("the OpenAPI document is not a JSON object")
    return orjson.dumps(rewrite_openapi(doc, public_prefix, upstream_prefix))
