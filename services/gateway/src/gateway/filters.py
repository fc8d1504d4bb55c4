"""Request filters: the seam where authentication, rate limits and allow-lists plug in.

A filter is an async callable ``(route, scope) -> Problem | None``. The gateway runs its filters in
order after a route matched and before it reads the body or calls any upstream; the first filter
that returns a :class:`~chassis.problems.Problem` ends the request with that problem. A filter may
leave facts for later filters and the upstream call in the scope: the authentication filter puts
the verified subject under :data:`USER`.

A filter that needs the gateway's resources (its upstream session, discovery) also has
``start(session, discovery)`` and ``close()`` (:class:`StartableFilter`); the gateway calls them
in its lifespan. :func:`gateway.app.create_app` builds the standard chain from settings:
authentication (:mod:`gateway.auth`), then rate limits (:mod:`gateway.ratelimit`), which key on
the user the first one found.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from chassis.problems import Problem
from gateway.asgi import Scope
from gateway.routes import Route

if TYPE_CHECKING:
    import aiohttp

    from gateway.proxy import DiscoveryLike

__all__ = ["USER", "Filter", "StartableFilter", "run_filters"]

Filter = Callable[[Route, Scope], Awaitable[Problem | None]]

# scope key: the verified subject of the caller's token (absent for anonymous callers)
USER = "souk.user"


@runtime_checkable
class StartableFilter(Protocol):
    """A filter with resources opened and closed with the gateway."""

    async def __call__(self, route: Route, scope: Scope) -> Problem | None: ...

    async def start(self, session: aiohttp.ClientSession, discovery: DiscoveryLike) -> None: ...

    async def close(self) -> None: ...


async def run_filters(filters: Sequence[Filter], route: Route, scope: Scope) -> Problem | None:
    """The first problem a filter returns, or None when every filter lets the request through."""
    for request_filter in filters:
        problem = await request_filter(route, scope)
        if problem is not None:
            return problem
    return None
