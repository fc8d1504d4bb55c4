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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["Route", "RouteMatch", "RouteTable", "RouteTableError", "Router", "load_routes",
           "parse_routes", "upstream_target"]


class RouteTableError(ValueError):
    """The route table cannot be read or is invalid."""


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
    if any(c in value for c in "?#%") or not value.isascii():
        raise ValueError("must be plain ASCII without '?', '#' or '%'")
    return value


class Route(BaseModel):
    """One entry: requests under ``prefix`` go to ``service`` with ``prefix`` replaced by
    ``upstream_prefix``. ``public`` tells the request filters whether a caller must be
    authenticated; ``timeout`` (seconds per attempt) falls back to the gateway's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str
    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    upstream_prefix: str = ""
    public: bool = False
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
    """A matched route and the upstream path (``upstream_prefix`` + the rest, never empty)."""

    route: Route
    rest: str
    upstream_path: str


class Router:
    """Longest-prefix matching over a :class:`RouteTable`."""

    def __init__(self, table: RouteTable) -> None:
        self.table = table
        # longest first, so the first hit is the longest match
        self._ordered = sorted(table.routes, key=lambda r: len(r.prefix), reverse=True)

    def match(self, path: str) -> RouteMatch | None:
        """The route for a (still percent-encoded) request path, or None."""
        for route in self._ordered:
            prefix = route.prefix
            if path.startswith(prefix):
                if prefix == "/":
                    rest = path
                else:
                    rest = path[len(prefix):]
                    if rest and rest[0] != "/":
                        continue  # '/api/v1/carts' is not under '/api/v1/cart'
                return RouteMatch(route, rest, (route.upstream_prefix + rest) or "/")
        return None


def upstream_target(match: RouteMatch, query_string: bytes) -> str:
    """Path and query to request upstream; the query string passes through untouched."""
    if query_string:
        return f"{match.upstream_path}?{query_string.decode('latin-1')}"
    return match.upstream_path
