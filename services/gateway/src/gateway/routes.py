"""The route table: which public path prefix goes to which service, and how paths are matched.

The table is declarative TOML (``[[routes]]`` entries), validated with pydantic when the app is
built, so a broken table stops the gateway before it listens. Matching is longest prefix on a
path-segment boundary: ``/api/v1/cart`` matches ``/api/v1/cart`` and ``/api/v1/cart/items`` but
never ``/api/v1/carts``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = ["METHODS", "OPENAPI_PATH", "RATE_LIMIT_CLASSES", "BadPath", "RateLimitClass", "Route",
           "RouteMatch", "RouteTable", "RouteTableError", "Router", "canonical_path",
           "load_routes", "parse_routes", "upstream_target"]

OPENAPI_PATH = "/openapi.json"  # where every service serves its API document


RateLimitClass = Literal["default", "login"]
RATE_LIMIT_CLASSES: tuple[RateLimitClass, ...] = ("default", "login")
METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")  # all the edge forwards
_METHODS = frozenset(METHODS)


class RouteTableError(ValueError):
    """The route table cannot be read or is invalid."""


class BadPath(ValueError):
    """A request path with no canonical form (see :func:`canonical_path`)."""


# RFC 3986 unreserved characters: the only ones a prefix may hold, and the only escapes decoded
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX = frozenset("0123456789abcdefABCDEF")
# escapes that would change the path's structure once a service decodes it
_STRUCTURAL = {"/": "an encoded '/'", "\\": "an encoded '\\'", "\0": "an encoded NUL"}


def canonical_path(raw: str) -> str:
    """The one spelling of a request path that the edge matches and forwards.

    Escapes of unreserved characters are decoded (``%61dmin`` is ``admin``), the other escapes
    stay encoded with upper-case digits, so the service's single decoding yields exactly the
    path the edge matched. Raises :class:`BadPath` for an escape of ``/``, ``\\`` or NUL, a
    malformed escape, and a ``.``, ``..`` or empty segment (a trailing ``/`` is kept). A path with
    neither ``%`` nor ``/.`` nor ``//`` is canonical already: callers test that first.
    """
    path = raw
    if "%" in raw:
        pieces = raw.split("%")
        out = [pieces[0]]
        for piece in pieces[1:]:
            code = piece[:2]
            if len(code) < 2 or code[0] not in _HEX or code[1] not in _HEX:
                raise BadPath("the path holds a malformed percent-escape")
            char = chr(int(code, 16))
            if char in _UNRESERVED:
                out.append(char + piece[2:])
            elif char in _STRUCTURAL:
                raise BadPath(f"the path must not hold {_STRUCTURAL[char]}")
            else:
                out.append("%" + code.upper() + piece[2:])
        path = "".join(out)
    if "/." in path or "//" in path:
        segments = path.split("/")
        if any(s in (".", "..") for s in segments):
            # an upstream that normalised the path could be walked out of the routed prefix
            raise BadPath("the path must not hold '.' or '..' segments")
        if "" in segments[1:-1]:
            raise BadPath("the path must not hold empty segments ('//')")
    return path


def _check_path_prefix(value: str, *, allow_empty: bool) -> str:
    if value == "" and allow_empty:
        return value
    if not value.startswith("/"):
        raise ValueError("must start with '/'")
    if value != "/" and value.endswith("/"):
        raise ValueError("must not end with '/'")
    segments = value.split("/")[1:]
    if value != "/" and any(s in ("", ".", "..") for s in segments):
        raise ValueError("must not contain empty, '.' or '..' segments")
    if not set(value) <= _UNRESERVED | {"/"}:
        # then a prefix matches a canonical path exactly when it matches the decoded one
        raise ValueError("must hold only '/' and unreserved characters (A-Z a-z 0-9 - . _ ~)")
    return value


class Route(BaseModel):
    """One entry: requests under ``prefix`` go to ``service`` with ``prefix`` replaced by
    ``upstream_prefix``; ``timeout`` (seconds, the deadline of the whole call including retries)
    falls back to the gateway's default.

    Who may call it (checked by the gateway's filters before any upstream is called):

    * ``public`` — anyone, no token needed; ``public_methods`` — anyone, for those methods only
      (a catalog: reads are public, writes need a token); otherwise a valid user token;
    * ``roles`` — the token must carry at least one of these roles;
    * ``admin`` — the ``admin`` role *and* a client address inside the gateway's admin allow-list;
    * ``exposed = false`` — never reachable from outside (an internal endpoint under a prefix);
    * ``rate_limit`` — which limit class counts the call (``login`` is the strict one);
      ``rate_limit_methods`` — for those methods only, the others under ``default`` (the shop's
      sign-in form: its POST is a log-in, its page a page).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str
    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    upstream_prefix: str = ""
    public: StrictBool = False
    public_methods: frozenset[str] = frozenset()
    roles: tuple[str, ...] = ()
    admin: StrictBool = False
    exposed: StrictBool = True
    rate_limit: RateLimitClass = "default"
    rate_limit_methods: frozenset[str] = frozenset()
    timeout: float | None = Field(default=None, gt=0, le=300)

    @field_validator("prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        return _check_path_prefix(value, allow_empty=False)

    @field_validator("upstream_prefix")
    @classmethod
    def _valid_upstream_prefix(cls, value: str) -> str:
        value = _check_path_prefix(value, allow_empty=True)
        return "" if value == "/" else value

    @field_validator("public_methods", "rate_limit_methods", mode="before")
    @classmethod
    def _valid_methods(cls, value: object) -> object:
        if isinstance(value, list | tuple | set | frozenset):
            methods = {str(m).upper() for m in value}
            unknown = sorted(methods - _METHODS)
            if unknown:
                raise ValueError(f"unknown HTTP methods {unknown}")
            return frozenset(methods)
        return value

    @field_validator("roles")
    @classmethod
    def _valid_roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not role or not role.isidentifier() for role in value):
            raise ValueError("roles are non-empty identifiers")
        return value

    @model_validator(mode="after")
    def _coherent_access(self) -> Route:
        if self.public and (self.public_methods or self.roles or self.admin):
            raise ValueError("a public route cannot also need roles, admin or public_methods")
        if self.admin and self.public_methods:
            raise ValueError("an admin route has no public methods")
        if self.rate_limit_methods and self.rate_limit == "default":
            raise ValueError("rate_limit_methods name the methods of a rate_limit other than "
                             "default")
        if self.admin and "admin" not in self.roles:
            # frozen model: normalise once, at validation, so the filters check one field
            object.__setattr__(self, "roles", (*self.roles, "admin"))
        return self

    def is_public(self, method: str) -> bool:
        """Whether ``method`` on this route admits anonymous callers."""
        return self.public or method in self.public_methods

    def limit_class(self, method: str) -> RateLimitClass:
        """The rate limit that counts ``method`` on this route."""
        if self.rate_limit_methods and method not in self.rate_limit_methods:
            return "default"
        return self.rate_limit


class RouteTable(BaseModel):
    """The whole table; prefixes are unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: tuple[Route, ...] = Field(min_length=1)

    @field_validator("routes")
    @classmethod
    def _unique_prefixes(cls, routes: tuple[Route, ...]) -> tuple[Route, ...]:
        seen: set[str] = set()
        for route in routes:
            if route.prefix in seen:
                raise ValueError(f"duplicate prefix {route.prefix!r}")
            seen.add(route.prefix)
        return routes


def parse_routes(text: str, *, source: str = "<string>") -> RouteTable:
    """Parse and validate a TOML route table; raise :class:`RouteTableError` with every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RouteTableError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return RouteTable.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise RouteTableError(f"{source}: invalid route table: {problems}") from exc


def load_routes(path: Path) -> RouteTable:
    """Read and validate the route table at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RouteTableError(f"{path}: cannot read route table: {exc}") from exc
    return parse_routes(text, source=str(path))


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A matched route and the upstream path (``upstream_prefix`` + the rest, never empty);
    ``document_of``: for a service's API document, the route it was asked through."""

    route: Route
    rest: str
    upstream_path: str
    document_of: Route | None = None  # a service's API document, asked through this route


class Router:
    """Longest-prefix matching over a :class:`RouteTable`, one dict lookup per path segment
    (walking from the whole path towards the root, so the first hit is the longest match)."""

    def __init__(self, table: RouteTable, cache_size: int = 4096) -> None:
        self.table = table
        self._by_prefix = {route.prefix: route for route in table.routes}
        # a root route ("/", the web front end) is the fallback for paths outside every other
        # route's first segment: an unknown /api/... path stays the edge's 404, never a page
        self._namespaces = frozenset("/" + route.prefix.split("/")[1]
                                     for route in table.routes if route.prefix != "/")
        # recent paths' matches (a match is immutable); emptied when full, so paths with ids in
        # them cost one miss each and repeated ones (a catalog page, a cart) one dict lookup
        self._cache: dict[str, RouteMatch | None] = {}
        self._cache_size = cache_size
        # each service's exposed routes, the longest upstream prefix first (public_location)
        self._reverse: dict[str, list[Route]] = {}
        self._documents: dict[str, Route] = {}  # a route's prefix -> its document's route
        for route in sorted(table.routes, key=lambda r: -len(r.upstream_prefix)):
            if route.exposed:
                self._reverse.setdefault(route.service, []).append(route)

    def match(self, path: str) -> RouteMatch | None:
        """The route for a canonical request path (:func:`canonical_path`), or None."""
        cache = self._cache
        if path in cache:
            return cache[path]
        if len(cache) >= self._cache_size:
            cache.clear()
        found = cache[path] = self._walk(path)
        return found

    def _walk(self, path: str) -> RouteMatch | None:
        by_prefix = self._by_prefix
        candidate = path
        while candidate:
            route = by_prefix.get(candidate)
            if route is not None and candidate != "/":
                return _matched(route, path[len(candidate):])
            candidate = candidate[:candidate.rfind("/")]
        root = by_prefix.get("/")
        if root is None:
            return None
        slash = path.find("/", 1)
        if (path if slash < 0 else path[:slash]) in self._namespaces:
            return None
        return _matched(root, path)


    def public_location(self, route: Route, location: bytes) -> bytes | None:
        """An upstream's ``Location`` as a client of the edge must see it, for a request that
        came through ``route``: its path made public (:meth:`published`), or None when no
        public path leads there. An absolute URL names an internal address: only its path is
        kept. A reference relative to the request's path is the same behind the edge."""
        text = location.decode("latin-1")
        url = urlsplit(text)
        if not (url.scheme or url.netloc or text.startswith("/")):
            return location
        found = self.published(route, url.path or "/")
        if found is None:
            return None
        public = found[0]
        query = f"?{url.query}" if url.query else ""
        fragment = f"#{url.fragment}" if url.fragment else ""
        return f"{public}{query}{fragment}".encode("latin-1")

    def published(self, route: Route, path: str) -> tuple[str, Route] | None:
        """The public path that leads to the upstream ``path`` of ``route``'s service, and the
        route it takes (whose access rules apply): through ``route`` if it can, else through
        another exposed route of that service; None when none does (the path is internal, or a
        longer route of the edge shadows it)."""
        for candidate in (route, *self._reverse.get(route.service, ())):
            upstream = candidate.upstream_prefix
            if upstream and path != upstream and not path.startswith(upstream + "/"):
                continue
            public = candidate.prefix.rstrip("/") + path[len(upstream):] or "/"  # root: "" + path
            found = self.match(public)
            if found is not None and found.route is candidate:
                return public, candidate
        return None

    def document(self, match: RouteMatch) -> RouteMatch:
        """The match of a ``GET`` or ``HEAD <prefix>/openapi.json``: the route's service's API
        document, public whatever the route's own access (documentation is no secret: it says
        what each operation needs), answered from the service's ``/openapi.json``, under the
        default rate limit (reading a document spends nothing of a caller's log-in budget)."""
        route = match.route
        documents = self._documents.get(route.prefix)
        if documents is None:
            documents = self._documents[route.prefix] = route.model_copy(update={
                "prefix": route.prefix.rstrip("/") + OPENAPI_PATH, "upstream_prefix": OPENAPI_PATH,
                "public": False, "public_methods": frozenset({"GET", "HEAD"}), "roles": (),
                "admin": False, "rate_limit": "default", "rate_limit_methods": frozenset()})
        return RouteMatch(documents, "", OPENAPI_PATH, document_of=route)


def _matched(route: Route, rest: str) -> RouteMatch | None:
    if not route.exposed:
        return None  # an internal endpoint: as unknown as a path with no route
    return RouteMatch(route, rest, (route.upstream_prefix + rest) or "/")


def upstream_target(match: RouteMatch, query_string: bytes) -> str:
    """Path and query to request upstream; the query string passes through untouched."""
    if query_string:
        return f"{match.upstream_path}?{query_string.decode('latin-1')}"
    return match.upstream_path
