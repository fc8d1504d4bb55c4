"""Request filters: the seam where authentication, rate limits and allow-lists plug in.

A filter is an async callable ``(route, scope) -> Problem | None``. The gateway runs its filters in
order after a route matched and before it reads the body or calls any upstream; the first filter
that returns a :class:`~chassis.problems.Problem` ends the request with that problem. A filter may
also leave facts for the upstream call in ``scope["state"]`` (a verified user, say).

``route.public`` is what an authentication filter consults: a public route admits anonymous
callers. The gateway ships with no filters; they arrive with the issues that need them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from chassis.problems import Problem
from gateway.asgi import Scope
from gateway.routes import Route

__all__ = ["DEFAULT_FILTERS", "Filter", "run_filters"]

Filter = Callable[[Route, Scope], Awaitable[Problem | None]]

DEFAULT_FILTERS: tuple[Filter, ...] = ()


async def run_filters(filters: Sequence[Filter], route: Route, scope: Scope) -> Problem | None:
    """The first problem a filter returns, or None when every filter lets the request through."""
    for request_filter in filters:
        problem = await request_filter(route, scope)
        if problem is not None:
            return problem
    return None
