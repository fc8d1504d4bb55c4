"""Request filters: the seam where authentication, rate limits and allow-lists plug in.

A filter is an async callable ``(route, request) -> Problem | None``. The gateway runs its filters
in order after a route matched and before it calls any upstream; the first filter that returns a
:class:`~chassis.problems.Problem` ends the request with that problem. A filter may leave facts
for later filters and the upstream call on the request: the authentication filter sets the
verified subject as ``request.user``.

A filter that can usually decide at once also has ``check(route, request)`` (:class:`SyncFilter`):
the common request then needs no task at all.

A filter that needs the gateway's resources (its upstream session, discovery) also has
``start(session, discovery)`` and ``close()`` (:class:`StartableFilter`); the gateway calls them
at start-up and shutdown. :func:`gateway.app.create_app` builds the standard chain from settings:
authentication (:mod:`gateway.auth`), then rate limits (:mod:`gateway.ratelimit`), which key on
the user the first one found.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

from chassis.problems import Problem
from gateway.request import Request
from gateway.routes import Route

if TYPE_CHECKING:
    import aiohttp

    from gateway.proxy import DiscoveryLike

__all__ = ["DEFER", "Filter", "StartableFilter", "SyncFilter", "run_filters"]

Filter = Callable[[Route, Request], Awaitable[Problem | None]]


class _Deferred(enum.Enum):
    DEFER = "defer"


# what :meth:`SyncFilter.check` returns when only the async call can decide
DEFER: Final = _Deferred.DEFER


@runtime_checkable
class SyncFilter(Protocol):
    """A filter that can usually decide without awaiting (a cached token, a local bucket): the
    gateway then answers the request without a task. ``check`` returns the problem, None to let
    the request through, or :data:`DEFER` to have the async ``__call__`` decide."""

    async def __call__(self, route: Route, request: Request) -> Problem | None: ...

    def check(self, route: Route, request: Request) -> Problem | _Deferred | None: ...


@runtime_checkable
class StartableFilter(Protocol):
    """A filter with resources opened and closed with the gateway."""

    async def __call__(self, route: Route, request: Request) -> Problem | None: ...

    async def start(self, session: aiohttp.ClientSession, discovery: DiscoveryLike) -> None: ...

    async def close(self) -> None: ...


async def run_filters(filters: Sequence[Filter], route: Route, request: Request) -> Problem | None:
    """The first problem a filter returns, or None when every filter lets the request through."""
    for request_filter in filters:
        problem = await request_filter(route, request)
        if problem is not None:
            return problem
    return None
