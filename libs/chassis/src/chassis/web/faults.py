"""Applying a route's fault rule (``chassis.fault_rules.RouteFault``) to one request.

The app looks a rule up only while some rule is switched on (one truth test per request
otherwise). A rule named by its route (``"POST /v1/reservations"``, the template of the OpenAPI
document) applies to that route; ``"*"`` applies to every route of the service's API but not to
its operations routes (``/health/*``, ``/metrics``, ``/openapi.json``, the messaging admin view),
which must be named: a ``"*"`` latency that reached ``/health/live`` would have the supervisor
kill the process, which is another experiment (``souk fault kill``).

Per request, in this order: the delay (with ``latency_rate``), then one draw decides between a
dropped connection (``drop_rate``), an error answer (``error_rate``: problem+json with
``error_status`` and the type ``fault/injected``) and the real handler.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from chassis.problems import Problem

if TYPE_CHECKING:
    from chassis.fault_rules import ActiveFaults, RouteFault
    from chassis.web.request import Receive, Scope
    from chassis.web.routing import Route

__all__ = ["DROP_EXTENSION", "FAULT_SLUG", "Dropped", "apply_route_fault", "fault_key",
           "rule_for"]

FAULT_SLUG = "fault/injected"
# the server's way to close a request's connection without an answer (chassis.serve puts
# {"abort": transport.abort} in every request's scope["extensions"] under this name)
DROP_EXTENSION = "souk.drop"
OPERATIONS_TAG = "operations"


class Dropped(Exception):
    """The request's connection was closed without an answer."""


def fault_key(route: Route) -> str:
    """How a route rule names ``route``: ``"METHOD /template"``, as the OpenAPI document does."""
    return f"{route.method} {route.path}"


def rule_for(faults: ActiveFaults, route: Route) -> RouteFault | None:
    """The rule for ``route``: its own, else ``"*"`` unless it is an operations route."""
    own = faults.routes.get(fault_key(route))
    if own is not None or OPERATIONS_TAG in route.tags:
        return own
    return faults.routes.get("*")


async def apply_route_fault(rule: RouteFault, route: Route, scope: Scope,
                            receive: Receive, faults: ActiveFaults) -> None:
    """Delay (cut short when the rules change), then raise :class:`Dropped` (connection closed)
    or a ``fault/injected`` :class:`Problem`, or return to let the handler answer."""
    if rule.latency_ms and random.random() < rule.latency_rate:  # noqa: S311 (not a secret)
        await faults.delay(rule.latency_ms / 1000)
    draw = random.random()  # noqa: S311
    if draw < rule.drop_rate:
        drop = scope.get("extensions", {}).get(DROP_EXTENSION)
        if drop is not None:
            drop["abort"]()
            while (await receive())["type"] != "http.disconnect":
                pass  # the server reports the closed connection; no answer is then expected
            raise Dropped
        # a server without the extension cannot drop: the error answer stands in for it
        raise Problem(rule.error_status, FAULT_SLUG, f"injected fault on {route.method} "
                      f"{route.path}: the connection would have been dropped")
    if draw < rule.drop_rate + rule.error_rate:
        raise Problem(rule.error_status, FAULT_SLUG,
                      f"injected fault on {route.method} {route.path} (fault_routes)")
