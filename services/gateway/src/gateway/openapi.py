"""A service's OpenAPI document, rewritten so it describes the service as seen through the gateway.

A service documents ``/v1/products/{product_id}``; through the gateway that operation is
``/api/v1/catalog/products/{product_id}``. The rewrite sets ``servers`` to the public prefix the
document was asked under and maps every path to the public path that leads to it (through any
exposed route of the service: orders' ``/v1/admin/orders`` is ``/admin`` under
``/api/v1/orders``), so generated clients and "try it" buttons call the gateway. A path that no
public path leads to (``/health/live``, ``/metrics``, an internal ``/v1/internal/...`` under a
route with ``exposed = false``) is left out: the edge answers it 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["rewrite_openapi", "rewrite_openapi_bytes"]

PublicPath = Callable[[str], "str | None"]


def _under(public: str, prefix: str) -> str | None:
    if prefix == "/":
        return public
    if public == prefix:
        return "/"
    if public.startswith(prefix + "/"):
        return public[len(prefix):]
    return None


def rewrite_openapi(doc: dict[str, Any], public_prefix: str,
                    public_path: PublicPath) -> dict[str, Any]:
    """A copy of ``doc`` with ``servers`` set to ``public_prefix`` and each path replaced by
    ``public_path(path)`` relative to it; paths with no public path under the prefix left out."""
    paths = doc.get("paths") or {}
    if not isinstance(paths, dict):
        raise ValueError("'paths' is not an object")
    public: dict[str, Any] = {}
    for path, item in paths.items():
        found = public_path(str(path))
        relative = _under(found, public_prefix) if found is not None else None
        if relative is not None:
            public[relative] = item
    return {**doc, "servers": [{"url": public_prefix}], "paths": public}


def rewrite_openapi_bytes(body: bytes, public_prefix: str, public_path: PublicPath) -> bytes:
    """:func:`rewrite_openapi` on a JSON document; ``ValueError`` if it is not a JSON object."""
    doc = orjson.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("the OpenAPI document is not a JSON object")
    return orjson.dumps(rewrite_openapi(doc, public_prefix, public_path))
