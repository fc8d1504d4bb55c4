"""Authentication at the edge: the first request filter.

The token is verified by :class:`chassis.auth.TokenVerifier` (RS256 only, ``exp``/``iat``/``iss``/
``aud``/``sub`` required, at most ``jwt_leeway`` seconds of clock skew, JWKS cached and fetched
again on an unknown ``kid``, verified tokens cached until expiry). Only user tokens (audience
``jwt_audience``) are accepted; service tokens are for calls inside the platform.

* A token is read from ``Authorization: Bearer`` only; a request carrying one in its query
  string is refused outright, valid or not (URLs end up in logs and browser history).
* An admin route is refused (403) from a client address outside ``admin_allow`` before any
  token is looked at, then needs the ``admin`` role.
* On a public route a valid token still names the caller (for per-user rate limits), and an
  invalid one is ignored: a client holding an expired token must still be able to log in again.
* The verified subject (``request.user``) travels upstream in ``X-Souk-User``, for logs only. The
  ``Authorization`` header is forwarded as received: every service verifies it again.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import parse_qsl

import aiohttp

from chassis import clock
from chassis.auth import Claims, InvalidToken, TokenVerifier, verifier_from_settings
from chassis.problems import Problem
from gateway.filters import DEFER, _Deferred
from gateway.metrics import GatewayMetrics
from gateway.proxy import DiscoveryLike
from gateway.request import Request
from gateway.routes import Route
from gateway.settings import GatewaySettings, Network

__all__ = ["Authenticator", "client_allowed", "query_has_token"]

_QUERY_TOKEN_NAMES = frozenset({"access_token", "token", "jwt", "id_token"})
_MEMO_SIZE = 10_000  # verified tokens remembered for the synchronous check
_MAYBE_TOKEN = re.compile(rb"token|jwt|%", re.IGNORECASE)


def query_has_token(query_string: bytes) -> bool:
    """Whether a query string names a token parameter (percent-encoded names included)."""
    if _MAYBE_TOKEN.search(query_string) is None:
        return False  # the common case, without parsing
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return any(name.lower() in _QUERY_TOKEN_NAMES for name, _ in pairs)


def client_allowed(client: str, networks: Sequence[Network]) -> bool:
    """Whether the socket peer ``client`` lies in one of ``networks``."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False  # not an IP (a unix socket, say): never an admin
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def _unauthenticated(detail: str, *, invalid: bool) -> Problem:
    challenge = 'Bearer error="invalid_token"' if invalid else "Bearer"
    return Problem(401, "gateway/unauthenticated", detail,
                   headers={"WWW-Authenticate": challenge})


class Authenticator:
    """The authentication filter. Its verifier is given (tests) or built at start-up from the
    gateway's session: keys from ``jwks_url`` when set, else from identity through discovery."""

    def __init__(self, settings: GatewaySettings, metrics: GatewayMetrics, *,
                 verifier: TokenVerifier | None = None) -> None:
        self.settings = settings
        self.verifier = verifier
        self._metrics = metrics
        self._allow = settings.admin_networks()
        # token -> claims, filled by the async verification; lets check() decide without
        # awaiting the verifier (whose own cache is behind a coroutine)
        self._verified: dict[str, Claims] = {}
        # the same by the Authorization header as received: a known header is decided without
        # parsing it again
        self._by_header: dict[bytes, Claims] = {}
        self._withdrawals = 0  # the verifier's count when the memos were last valid

    async def start(self, session: aiohttp.ClientSession, discovery: DiscoveryLike) -> None:
        if self.verifier is not None:
            return
        # user tokens only: service tokens are for calls inside the platform
        self.verifier = verifier_from_settings(self.settings, session, discovery,
                                               audiences=[self.settings.jwt_audience])

    async def close(self) -> None:
        return None

    async def __call__(self, route: Route, request: Request) -> Problem | None:
        try:
            self._check(route, request)
            token = _bearer(request)
            public = route.is_public(request.method)
            if not token:
                if public:
                    return None
                raise _unauthenticated("a bearer token is required" if token is None else
                                       "send the token as Authorization: Bearer <token>",
                                       invalid=False)
            verifier = self.verifier
            if verifier is None:
                raise Problem(503, "gateway/auth-unavailable", "token verification is not ready",
                              headers={"Retry-After": "1"})
            try:
                claims = await verifier.verify(token)
            except InvalidToken as exc:
                if public:
                    return None
                raise _unauthenticated(str(exc), invalid=True) from None
            verified = self._verified
            if len(verified) >= _MEMO_SIZE:
                verified.clear()
            verified[token] = claims
            self._admit(route, request, claims)
            return None
        except Problem as problem:
            self._metrics.auth_rejections.inc(str(problem.status))
            return problem

    def check(self, route: Route, request: Request) -> Problem | _Deferred | None:
        """Decide at once when the token is absent or was verified before; else :data:`DEFER`.

        The memos follow the verifier's keys: when the key set is due for a refresh the token is
        verified again (which refreshes it), and a withdrawn key clears them."""
        try:
            if request.query or route.admin:
                self._check(route, request)
            verifier = self.verifier
            if verifier is not None:
                if verifier.keys_due:
                    return DEFER
                if verifier.withdrawals != self._withdrawals:
                    self._verified.clear()
                    self._by_header.clear()
                    self._withdrawals = verifier.withdrawals
            header = request.notable.get(b"authorization")
            claims = self._remembered(request, header) if header is not None else None
            if claims is None:
                token = _bearer(request)
                if not token:
                    if route.is_public(request.method):
                        return None
                    raise _unauthenticated("a bearer token is required" if token is None else
                                           "send the token as Authorization: Bearer <token>",
                                           invalid=False)
                claims = self._verified.get(token)
                if claims is None:
                    return DEFER
                if header is not None:
                    by_header = self._by_header
                    if len(by_header) >= _MEMO_SIZE:
                        by_header.clear()
                    by_header[header] = claims
            if claims.expires_at + self.settings.jwt_leeway <= clock.time():
                return DEFER
            if route.roles:
                self._admit(route, request, claims)
            else:
                request.user = claims.subject
            return None
        except Problem as problem:
            self._metrics.auth_rejections.inc(str(problem.status))
            return problem

    def _remembered(self, request: Request, header: bytes) -> Claims | None:
        """The claims of an Authorization header seen before: the client connection's last one
        first (compared, not hashed: a token is several hundred bytes, and a keep-alive client
        sends the same one each time), then any connection's."""
        conn = request.conn
        if conn is None:
            return self._by_header.get(header)
        memo = conn.auth_memo
        if (memo is not None and memo[0] is self and memo[3] == self._withdrawals
                and memo[1] == header):
            return memo[2]
        claims = self._by_header.get(header)
        if claims is not None:
            conn.auth_memo = (self, header, claims, self._withdrawals)
        return claims

    def _admit(self, route: Route, request: Request, claims: Claims) -> None:
        if route.roles and not any(role in claims.roles for role in route.roles):
            raise Problem(403, "gateway/forbidden",
                          f"this needs one of the roles {list(route.roles)}")
        request.user = claims.subject
        return

    def _check(self, route: Route, request: Request) -> None:
        query = request.query
        if query and query_has_token(query):
            raise _unauthenticated("tokens in the URL are refused; send Authorization: Bearer",
                                   invalid=True)
        if route.admin:
            client = request.client
            if not client or not client_allowed(client, self._allow):
                raise Problem(403, "gateway/forbidden",
                              "admin routes are not reachable from this address")


def _bearer(request: Request) -> str | None:
    """The bearer token; None without an Authorization header, "" when it holds no bearer."""
    header = request.header(b"authorization")
    if header is None:
        return None
    scheme, _, token = header.decode("latin-1").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
