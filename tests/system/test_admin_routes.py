"""Every admin capability of every service is reachable through the edge only on an admin route
(the admin role AND an address in GATEWAY_ADMIN_ALLOW), read from each service's own OpenAPI
document against the gateway's packaged route table."""

from __future__ import annotations

import importlib
import json
import re
from functools import cache
from pathlib import Path

import pytest

from gateway.routes import Route, Router, load_routes
from gateway.settings import packaged_routes_file

pytestmark = pytest.mark.unit

# every service with an API document of its own: the folders under services/ (a new one is
# checked without being listed here), but the edge itself
SERVICES = tuple(sorted(p.name for p in (Path(__file__).parents[2] / "services").iterdir()
                        if (p / "src" / p.name / "app.py").is_file() and p.name != "gateway"))
_PARAM = re.compile(r"\{[^}]+\}")


@cache
def router() -> Router:
    return Router(load_routes(packaged_routes_file()))


def admin_operations(service: str) -> list[tuple[str, str]]:
    """(method, path with each parameter filled in) of the operations needing the admin role."""
    app = importlib.import_module(f"{service}.app").create_app()
    doc = json.loads(app.openapi())
    return [(method.upper(), _PARAM.sub("x", path)) for path, item in doc["paths"].items()
            for method, op in item.items() if "'admin' role" in op.get("x-souk-auth", "")]


def public_routes_to(service: str, upstream_path: str) -> list[Route]:
    """The routes through which a client of the edge reaches ``upstream_path`` on ``service``."""
    found = []
    for route in router().table.routes:
        prefix = route.upstream_prefix
        if route.service != service or not (
                upstream_path == prefix or upstream_path.startswith(prefix + "/")):
            continue
        match = router().match(route.prefix + upstream_path[len(prefix):])
        if match is not None and match.route is route and match.upstream_path == upstream_path:
            found.append(route)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_admin_operation_is_behind_an_admin_route(service: str) -> None:
    operations = admin_operations(service)
    exposed = {(method, path): [r.prefix for r in public_routes_to(service, path) if not r.admin]
               for method, path in operations}
    assert {op: prefixes for op, prefixes in exposed.items() if prefixes} == {}


def test_every_service_is_checked() -> None:
    assert {"registry", "identity", "catalog", "orders", "telemetry", "web"} <= set(SERVICES)


def test_the_catalog_writes_are_admin_operations_reachable_through_the_edge() -> None:
    writes = [op for op in admin_operations("catalog") if op[1].startswith("/v1/admin/products")]
    assert {method for method, _ in writes} == {"POST", "PATCH", "DELETE"}
    for _, path in writes:
        assert [r.prefix for r in public_routes_to("catalog", path)] == ["/api/v1/catalog/admin"]
