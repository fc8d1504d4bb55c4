"""Routes, declared once with everything the chassis needs to serve and document them::

    router = Router(tags=["orders"])

    @router.get("/v1/orders/{order_id}", auth=USER, raises=(OrderNotFound,))
    async def get_order(order_id: Annotated[str, Path(max_length=64)], user: Principal,
                        orders: Orders) -> OrderOut:
        "One of your orders."

The return annotation is the success body (its schema goes into the OpenAPI document); a handler
that returns a :class:`~chassis.web.responses.Response` itself declares ``responses=`` instead.
``raises`` lists the domain errors it lets through: the app's problem map gives their statuses.
A handler that reads a body other than a JSON Struct itself (``await request.body()``: protobuf,
compressed uploads) documents it with ``body=Media(...)`` (a tuple of them for several media
types), and the problems it answers for that body with ``problems=`` (413 too: the app's
``max_body`` applies to ``request.body()``).
``priority`` says what is shed first when the service is saturated
(:mod:`chassis.web.admission`): by default a GET/HEAD is a read, anything else an order.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chassis.web.admission import Priority
from chassis.web.auth import Auth
from chassis.web.params import Compiled, compile_params, type_hints
from chassis.web.responses import Media, Response

__all__ = ["ResponseDoc", "Route", "Router"]

Handler = Callable[..., Awaitable[Any]]
# a documented success response: a body type, None (no body), a Media, a tuple of Media (one
# answer in several media types), or (any of those, description)
ResponseDoc = Any

_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


@dataclass(slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    status: int
    responses: dict[int, tuple[Any, str]]
    auth: Auth | None
    raises: tuple[type[Exception], ...]
    problems: dict[int, str]
    tags: tuple[str, ...]
    summary: str
    description: str
    include_in_schema: bool
    compiled: Compiled
    regex: re.Pattern[str] | None = None
    names: tuple[str, ...] = field(default_factory=tuple)
    body_media: tuple[Media, ...] = ()  # a body the handler reads itself, by media type
    priority: Priority = Priority.READ
    # a query parameter the route does not declare: refused (400), so that a typo does not look
    # like success; or ignored, for pages whose links may carry others' (utm_source, fbclid …)
    ignore_other_query: bool = False
    # headers its successful answers may carry, by name, with what each says (the document)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


def _success_docs(handler: Handler, status: int,
                  responses: Mapping[int, ResponseDoc] | None) -> dict[int, tuple[Any, str]]:
    if responses:
        return {code: doc if _described(doc) else (doc, "") for code, doc in responses.items()}
    returned = type_hints(handler).get("return")
    if returned is None or returned is type(None):
        return {status: (None, "")}
    if isinstance(returned, type) and issubclass(returned, Response):
        raise TypeError(f"{handler.__qualname__} returns a Response: declare responses=")
    return {status: (returned, "")}


def _described(doc: ResponseDoc) -> bool:
    return isinstance(doc, tuple) and len(doc) == 2 and isinstance(doc[1], str)


class Router:
    """A group of routes; the app includes routers (``app.include(router)``)."""

    def __init__(self, *, prefix: str = "", tags: Iterable[str] = (),
                 ignore_other_query: bool = False) -> None:
        """``ignore_other_query``: its routes ignore query parameters they do not declare
        instead of refusing them (400), as a web page must (a shared link carries tracking
        parameters); an API refuses them, so that a typo does not look like success."""
        self.prefix = prefix
        self.tags = tuple(tags)
        self.ignore_other_query = ignore_other_query
        self.routes: list[Route] = []

    def route(self, method: str, path: str, *, status: int = 200,
              responses: Mapping[int, ResponseDoc] | None = None,
              body: Media | tuple[Media, ...] | None = None, auth: Auth | None = None,
              raises: Iterable[type[Exception]] = (), problems: Mapping[int, str] | None = None,
              tags: Iterable[str] | None = None, summary: str = "",
              include_in_schema: bool = True,
              priority: Priority | None = None,
              headers: Mapping[str, str] | None = None) -> Callable[[Handler], Handler]:
        full = self.prefix + path
        names = tuple(_PARAM.findall(full))

        def declare(handler: Handler) -> Handler:
            compiled = compile_params(handler, set(names))
            if compiled.wants_principal and auth is None:
                raise TypeError(f"{handler.__qualname__} takes a Principal but has no auth=")
            if body is not None and compiled.body is not None:
                raise TypeError(f"{handler.__qualname__}: two bodies (a Struct and body=)")
            doc = inspect.cleandoc(handler.__doc__ or "")
            first, _, rest = doc.partition("\n")
            regex = _pattern(full) if names else None
            # a handler returning a body or None answers the route's status: the declared one
            status_used = status if not responses or status in responses else min(responses)
            self.routes.append(Route(
                method=method.upper(), path=full, handler=handler, status=status_used,
                responses=_success_docs(handler, status, responses), auth=auth,
                raises=tuple(raises), problems=dict(problems or {}),
                tags=tuple(tags) if tags is not None else self.tags,
                summary=summary or first.strip(), description=rest.strip(),
                include_in_schema=include_in_schema, compiled=compiled, regex=regex,
                names=names, body_media=body if isinstance(body, tuple) else
                (() if body is None else (body,)),
                priority=priority if priority is not None else _default_priority(method),
                ignore_other_query=self.ignore_other_query, headers=dict(headers or {})))
            return handler

        return declare

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **options)


def _default_priority(method: str) -> Priority:
    return Priority.READ if method.upper() in ("GET", "HEAD") else Priority.ORDER


class RouteTable:
    """Method and path → route: a dict for fixed paths, patterns tried in order for the rest."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._fixed: dict[str, dict[str, Route]] = {}
        self._patterns: list[tuple[re.Pattern[str], dict[str, Route]]] = []

    def add(self, route: Route) -> None:
        for existing in self.routes:
            if existing.method == route.method and existing.path == route.path:
                raise ValueError(f"{route.method} {route.path} is declared twice")
        self.routes.append(route)
        if route.regex is None:
            self._fixed.setdefault(route.path, {})[route.method] = route
            return
        for regex, methods in self._patterns:
            if regex.pattern == route.regex.pattern:
                methods[route.method] = route
                return
        self._patterns.append((route.regex, {route.method: route}))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """(route, path parameters, methods allowed on the path when the method is not)."""
        methods = self._fixed.get(path)
        params: dict[str, str] = {}
        if methods is None:
            for regex, candidates in self._patterns:
                found = regex.match(path)
                if found is not None:
                    methods, params = candidates, found.groupdict()
                    break
            else:
                return None, {}, []
        route = methods.get(method)
        if route is None and method == "HEAD":  # RFC 9110 9.3.2: GET's answer without its body
            route = methods.get("GET")
        if route is None:
            return None, {}, sorted({*methods, "HEAD"} if "GET" in methods else methods)
        return route, params, []


def _pattern(template: str) -> re.Pattern[str]:
    """``/v1/orders/{order_id}`` → a regex with one named group per segment parameter."""
    pieces = _PARAM.split(template)  # static, name, static, name, ..., static
    regex = "".join(re.escape(piece) if i % 2 == 0 else f"(?P<{piece}>[^/]+)"
                    for i, piece in enumerate(pieces))
    return re.compile(f"^{regex}$")
