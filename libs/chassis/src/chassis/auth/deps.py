"""FastAPI dependencies that authenticate every call again (zero trust: never the network).

* ``CurrentUser`` — a user's access token (audience ``jwt_audience``).
* ``require_role("admin")`` — the same, plus a role.
* ``internal_caller({"orders"})`` — a service token (audience ``jwt_internal_audience``) from one
  of the named services; user tokens and other services are refused.

Tokens come only from ``Authorization: Bearer``; a token in the query string is refused outright,
because URLs end up in logs and browser history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from chassis.auth.tokens import Claims, InvalidToken, TokenVerifier
from chassis.problems import Problem

__all__ = ["CurrentUser", "Principal", "authenticate", "internal_caller", "require_role"]

_QUERY_TOKEN_NAMES = ("access_token", "token", "jwt", "id_token")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as the token proves it."""

    id: str
    roles: tuple[str, ...]
    service: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail,
                   headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


async def authenticate(request: Request) -> Claims:
    """Verify the request's bearer token; 401 problem+json on any doubt."""
    if any(name in request.query_params for name in _QUERY_TOKEN_NAMES):
        raise _unauthorized("tokens in the URL are refused; send Authorization: Bearer")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "unauthorized", "a bearer token is required",
                      headers={"WWW-Authenticate": "Bearer"})
    verifier: TokenVerifier | None = request.app.state.runtime.verifier
    if verifier is None:
        raise Problem(503, "auth-unavailable", "token verification is not configured")
    try:
        return await verifier.verify(token.strip())
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from None


async def _current_user(request: Request) -> Principal:
    claims = await authenticate(request)
    if claims.audience != request.app.state.runtime.settings.jwt_audience:
        raise _unauthorized("token not meant for this audience")
    return Principal(claims.subject, claims.roles)


CurrentUser = Annotated[Principal, Depends(_current_user)]


def require_role(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits users holding ``role`` (403 problem+json otherwise)."""

    async def check(user: CurrentUser) -> Principal:
        if not user.has_role(role):
            raise Problem(403, "forbidden", f"this needs the {role!r} role")
        return user

    return check


def internal_caller(allowed: Iterable[str]) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits only service tokens of the ``allowed`` services."""
    allow = frozenset(allowed)

    async def check(request: Request) -> Principal:
        claims = await authenticate(request)
        settings = request.app.state.runtime.settings
        if claims.audience != settings.jwt_internal_audience or claims.service is None:
            raise _unauthorized("an internal endpoint needs a service token")
        if claims.service not in allow:
            raise Problem(403, "forbidden", f"service {claims.service!r} may not call this")
        return Principal(claims.subject, claims.roles, service=claims.service)

    return check
