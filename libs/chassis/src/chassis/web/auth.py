"""Who may call a route, declared with the route and checked on every call (zero trust: a token
is verified by each service again, never taken on the network's word).

* :data:`USER` — a user's access token (audience ``jwt_audience``);
* :data:`ADMIN`, :func:`role` — the same, holding a role;
* :func:`services` — a service token (audience ``jwt_internal_audience``) of a named service;
  :func:`services_from_setting` takes the names from a setting (``price_callers``).

Tokens come only from ``Authorization: Bearer``; a token in the query string is refused outright,
because URLs end up in logs and browser history.

A handler that needs the caller's address (throttles, audit logs) takes a :class:`ClientAddress`:
the socket peer, or the right-most ``X-Forwarded-For`` entry when the request proves it came from
the gateway, whose service token rides in ``X-Souk-Edge-Token`` (the services named in the
``edge_services`` setting). A local client can then no longer pick its apparent address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chassis.auth.principal import Principal
from chassis.auth.tokens import InvalidToken, TokenVerifier
from chassis.problems import Problem

if TYPE_CHECKING:
    from chassis.web.request import Request

__all__ = ["ADMIN", "EDGE_TOKEN_HEADER", "USER", "Auth", "ClientAddress", "authenticate",
           "client_address", "role", "services", "services_from_setting"]

_QUERY_TOKEN_NAMES = ("access_token", "token", "jwt", "id_token")
EDGE_TOKEN_HEADER = "x-souk-edge-token"  # noqa: S105 - a header name, not a secret


class ClientAddress(str):
    """The caller's address, as a handler parameter (see the module's docstring)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Auth:
    """What a route admits. ``statuses`` are the problems it can answer, for the OpenAPI doc."""

    kind: str  # "user" or "service"
    role: str = ""
    allowed: frozenset[str] = frozenset()
    setting: str = ""  # a settings attribute listing the allowed services

    @property
    def statuses(self) -> dict[int, str]:
        if self.kind == "user" and not self.role:
            return {401: "no valid access token"}
        who = f"the {self.role!r} role" if self.role else "a service allowed to call this"
        return {401: "no valid token", 403: f"the token lacks {who}"}

    @property
    def description(self) -> str:
        if self.kind == "service":
            names = ", ".join(sorted(self.allowed)) or f"those in the {self.setting!r} setting"
            return f"service token of: {names}"
        return f"user token with the {self.role!r} role" if self.role else "user token"


USER = Auth("user")
ADMIN = Auth("user", role="admin")


def role(name: str) -> Auth:
    return Auth("user", role=name)


def services(names: Iterable[str]) -> Auth:
    return Auth("service", allowed=frozenset(names))


def services_from_setting(setting: str) -> Auth:
    return Auth("service", setting=setting)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail,
                   headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


async def authenticate(auth: Auth, request: Request, verifier: TokenVerifier | None,
                       settings: Any) -> Principal:
    """Verify the request's bearer token against ``auth``; 401/403 problem+json on any doubt."""
    raw_query = request.scope.get("query_string", b"")
    if raw_query and any(name in request.query for name in _QUERY_TOKEN_NAMES):
        raise _unauthorized("tokens in the URL are refused; send Authorization: Bearer")
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "unauthorized", "a bearer token is required",
                      headers={"WWW-Authenticate": "Bearer"})
    if verifier is None:  # the app refuses to start like this; kept as a guard
        raise _unauthorized("token verification is not configured")
    try:
        claims = await verifier.verify(token)
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from None
    if auth.kind == "service":
        if claims.audience != settings.jwt_internal_audience or claims.service is None:
            raise _unauthorized("an internal endpoint needs a service token")
        allowed = auth.allowed or frozenset(getattr(settings, auth.setting, ()) or ())
        if claims.service not in allowed:
            raise Problem(403, "forbidden", f"service {claims.service!r} may not call this")
        return Principal(claims.subject, claims.roles, service=claims.service)
    if claims.audience != settings.jwt_audience:
        raise _unauthorized("token not meant for this audience")
    if auth.role and auth.role not in claims.roles:
        raise Problem(403, "forbidden", f"this needs the {auth.role!r} role")
    return Principal(claims.subject, claims.roles)


async def client_address(request: Request, verifier: TokenVerifier | None,
                         settings: Any) -> ClientAddress:
    """The socket peer's address, or the client the authenticated gateway forwarded."""
    peer = ClientAddress(request.client_host or "unknown")
    token, forwarded = request.header(EDGE_TOKEN_HEADER), request.header("x-forwarded-for")
    if not token or not forwarded or verifier is None:
        return peer
    try:
        claims = await verifier.verify(token)
    except InvalidToken:
        return peer
    if (claims.audience != settings.jwt_internal_audience
            or claims.service not in settings.edge_services):
        return peer
    # the gateway appends the peer it saw: entries to its left are the client's own say
    try:
        return ClientAddress(ipaddress.ip_address(forwarded.rpartition(",")[2].strip()))
    except ValueError:
        return peer
