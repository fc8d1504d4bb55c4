"""The authentication filter without sockets: query-string tokens, admin addresses, roles,
public routes, and the X-Souk-User fact it leaves for the upstream call."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from chassis.auth import StaticJwks, TokenVerifier
from chassis.testing import TestIssuer
from gateway.auth import Authenticator, client_allowed, query_has_token
from gateway.metrics import GatewayMetrics
from gateway.request import Request
from gateway.routes import Route
from gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit

ISSUER = TestIssuer()
LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize("query", [b"access_token=x", b"a=1&token=x", b"jwt=", b"id_token=x",
                                   b"ACCESS_TOKEN=x", b"%61ccess_token=x", b"a=1&t%6Fken=y"])
def test_spots_a_token_in_the_query_string(query: bytes) -> None:
    assert query_has_token(query)


@pytest.mark.parametrize("query", [b"", b"q=red", b"cursor=abc&limit=5", b"tokens=3",
                                   b"q=my%20token", b"q=token"])
def test_ignores_other_query_strings(query: bytes) -> None:
    assert not query_has_token(query)


@pytest.mark.parametrize(("client", "allowed"), [
    ("127.0.0.1", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("127.0.0.2", False), ("10.0.0.1", False), ("2001:db8::1", False), ("not-an-ip", False),
])
def test_admin_allow_list_matches_the_socket_peer(client: str, allowed: bool) -> None:
    assert client_allowed(client, LOOPBACK) is allowed


def authenticator() -> Authenticator:
    async def keys() -> dict[str, Any]:
        return ISSUER.jwks()

    verifier = TokenVerifier(StaticJwks(keys), issuer=ISSUER.issuer, audience="souk")
    metrics = GatewayMetrics("gateway")
    return Authenticator(GatewaySettings(), metrics, verifier=verifier)


def scope(token: str | None = None, *, method: str = "GET", client: str = "127.0.0.1",
          query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    if headers is None:
        headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return Request(method, "/api/v1/x", query, headers, client)


PRIVATE = Route(prefix="/api/v1/orders", service="orders")
CATALOG = Route(prefix="/api/v1/catalog", service="catalog", public_methods=frozenset({"GET"}))
ADMIN = Route(prefix="/api/v1/identity/audit", service="identity", admin=True)


async def test_a_valid_token_names_the_user_for_the_upstream() -> None:
    request = scope(ISSUER.mint(sub="u-7"))
    assert await authenticator()(PRIVATE, request) is None
    assert request.user == "u-7"


async def test_a_private_route_needs_a_bearer_token() -> None:
    for request in (scope(), scope(headers=[(b"authorization", b"Basic dTpw")])):
        problem = await authenticator()(PRIVATE, request)
        assert problem is not None and problem.status == 401
        assert problem.headers["WWW-Authenticate"].startswith("Bearer")


async def test_public_methods_admit_anonymous_callers_and_ignore_bad_tokens() -> None:
    anonymous, stale = scope(), scope(ISSUER.mint(ttl=-600))
    assert await authenticator()(CATALOG, anonymous) is None
    assert await authenticator()(CATALOG, stale) is None
    assert anonymous.user is None and stale.user is None
    problem = await authenticator()(CATALOG, scope(method="POST"))
    assert problem is not None and problem.status == 401


async def test_a_token_in_the_url_is_refused_even_on_a_public_route() -> None:
    problem = await authenticator()(CATALOG, scope(query=b"access_token=" + ISSUER.mint().encode()))
    assert problem is not None and problem.status == 401
    assert "URL" in problem.detail


async def test_service_tokens_are_refused_at_the_edge() -> None:
    problem = await authenticator()(PRIVATE, scope(ISSUER.service_token("orders")))
    assert problem is not None and problem.status == 401


async def test_an_admin_route_needs_the_role_and_an_allowed_address() -> None:
    admin, customer = ISSUER.mint(roles=("admin",)), ISSUER.mint(roles=("customer",))
    assert await authenticator()(ADMIN, scope(admin)) is None
    for request in (scope(customer), scope(admin, client="203.0.113.9"),
                    scope(None, client="203.0.113.9")):
        problem = await authenticator()(ADMIN, request)
        assert problem is not None and problem.status == 403


async def test_the_synchronous_check_decides_a_verified_header_until_the_token_expires() -> None:
    from gateway.filters import DEFER

    auth = authenticator()
    token = ISSUER.mint(sub="u-9", ttl=3600)
    assert auth.check(PRIVATE, scope(token)) is DEFER  # never seen: verified asynchronously
    assert await auth(PRIVATE, scope(token)) is None
    first, second = scope(token), scope(token)
    assert auth.check(PRIVATE, first) is None and first.user == "u-9"
    assert auth.check(PRIVATE, second) is None and second.user == "u-9"  # by the header
    other = ISSUER.mint(sub="u-10", ttl=3600)
    assert auth.check(PRIVATE, scope(other)) is DEFER  # another header is not mistaken for it
    expired = ISSUER.mint(sub="u-11", ttl=-600)
    assert auth.check(PRIVATE, scope(expired)) is DEFER
    problem = await auth(PRIVATE, scope(expired))
    assert problem is not None and problem.status == 401


async def test_a_remembered_header_is_deferred_once_its_claims_expire(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from gateway.filters import DEFER

    auth = authenticator()
    token = ISSUER.mint(sub="u-12", ttl=60)
    assert await auth(PRIVATE, scope(token)) is None
    assert auth.check(PRIVATE, scope(token)) is None
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    assert auth.check(PRIVATE, scope(token)) is DEFER  # re-verified, and refused, by the filter


class RotatingKeys:
    """An authenticator whose verifier reads a key set the test can change (``published``) on a
    clock the test moves (``now``); ``old`` publishes first, ``new`` is the next key."""

    def __init__(self) -> None:
        self.old, self.new = TestIssuer(), TestIssuer()
        self.published = [self.old]
        self.now = [1000.0]

        async def keys() -> dict[str, Any]:
            return {"keys": [issuer.jwk() for issuer in self.published]}

        verifier = TokenVerifier(StaticJwks(keys), issuer=ISSUER.issuer, audience="souk",
                                 refresh_interval=60.0, clock=lambda: self.now[0])
        self.auth = Authenticator(GatewaySettings(), GatewayMetrics("gateway"),
                                  verifier=verifier)


async def test_a_remembered_token_of_a_withdrawn_key_is_refused_within_the_refresh_interval(
        ) -> None:
    """Issue 10, item 6, at the edge: the memos follow the verifier's keys."""
    from gateway.filters import DEFER

    keys = RotatingKeys()
    old, new, published, now, auth = keys.old, keys.new, keys.published, keys.now, keys.auth
    token = old.mint(sub="u-13", ttl=3600)
    assert await auth(PRIVATE, scope(token)) is None
    assert auth.check(PRIVATE, scope(token)) is None
    published[:] = [new]  # identity withdrew the old key
    now[0] += 60
    assert auth.check(PRIVATE, scope(token)) is DEFER  # the keys are due: verify again
    problem = await auth(PRIVATE, scope(token))
    assert problem is not None and problem.status == 401
    assert auth.check(PRIVATE, scope(token)) is DEFER  # and the memo forgot it


async def test_a_connection_remembers_only_its_last_header_and_forgets_it_with_the_keys() -> None:
    from types import SimpleNamespace

    from gateway.connection import Connection, Limits
    from gateway.filters import DEFER

    keys = RotatingKeys()
    old, new, published, now, auth = keys.old, keys.new, keys.published, keys.now, keys.auth
    conn = Connection(SimpleNamespace(limits=Limits()))  # type: ignore[arg-type]

    def on_conn(token: str) -> Request:
        request = scope(token)
        request.conn = conn
        return request

    first, second = old.mint(sub="u-14", ttl=3600), old.mint(sub="u-15", ttl=3600)
    for token in (first, second):
        assert await auth(PRIVATE, on_conn(token)) is None
    for token, user in ((first, "u-14"), (first, "u-14"), (second, "u-15"), (first, "u-14")):
        request = on_conn(token)
        assert auth.check(PRIVATE, request) is None and request.user == user
    published[:] = [new]  # identity withdrew the old key
    now[0] += 60
    assert auth.check(PRIVATE, on_conn(first)) is DEFER
    problem = await auth(PRIVATE, on_conn(first))
    assert problem is not None and problem.status == 401
    assert auth.check(PRIVATE, on_conn(first)) is DEFER  # the connection's memo forgot it too
