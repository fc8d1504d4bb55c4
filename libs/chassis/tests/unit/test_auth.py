"""Token verification and route auth (chassis.web.auth), against every JWT attack the edge must
refuse. In memory: the JWKS comes from a callable, the app is called without sockets."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest

from chassis import ServiceSettings, create_service_app
from chassis.auth import InvalidToken, Principal, StaticJwks, TokenVerifier
from chassis.testing import TestIssuer
from chassis.testing.asgi import AsgiClient
from chassis.web import ADMIN, USER, App, Router, services

pytestmark = pytest.mark.unit

ISSUER = TestIssuer()


class CountingJwks:
    def __init__(self, *issuers: TestIssuer) -> None:
        self.issuers = list(issuers)
        self.fetches = 0

    async def fetch(self) -> dict[str, object]:
        self.fetches += 1
        return {"keys": [i.jwk() for i in self.issuers]}


def verifier(jwks: object | None = None, **kw: object) -> TokenVerifier:
    source = jwks or StaticJwks(_static(ISSUER))
    return TokenVerifier(source, issuer="souk-identity",  # type: ignore[arg-type]
                         audience=["souk", "souk-internal"], **kw)  # type: ignore[arg-type]


def _static(issuer: TestIssuer):  # type: ignore[no-untyped-def]
    async def get() -> dict[str, object]:
        return issuer.jwks()
    return get


ATTACKS = ISSUER.forged_tokens()


async def test_a_valid_token_verifies_and_exposes_its_claims() -> None:
    claims = await verifier().verify(ISSUER.mint(sub="u-42", roles=("admin",)))
    assert (claims.subject, claims.roles, claims.audience) == ("u-42", ("admin",), "souk")


@pytest.mark.parametrize("name", list(ATTACKS))
async def test_every_attack_is_an_invalid_token(name: str) -> None:
    with pytest.raises(InvalidToken):
        await verifier().verify(ATTACKS[name]())


async def test_a_clock_skew_under_a_minute_is_tolerated() -> None:
    await verifier().verify(ISSUER.mint(nbf=int(time.time()) + 30))
    await verifier().verify(ISSUER.mint(ttl=-30))


async def test_a_new_kid_is_accepted_after_one_jwks_refetch() -> None:
    old, new = ISSUER, TestIssuer()
    jwks = CountingJwks(old)
    v = verifier(jwks, refetch_interval=0.0)
    await v.verify(old.mint())
    assert jwks.fetches == 1
    jwks.issuers.append(new)  # identity rotated: JWKS lists both
    await v.verify(new.mint())
    assert jwks.fetches == 2
    await v.verify(old.mint(sub="another"))  # old tokens keep working until they expire
    assert jwks.fetches == 2


async def test_unknown_kids_cannot_flood_the_jwks_endpoint() -> None:
    jwks = CountingJwks(ISSUER)
    v = verifier(jwks, refetch_interval=0.3)
    await v.verify(ISSUER.mint())
    made_up = TestIssuer(kid="made-up")
    results = await asyncio.gather(*(v.verify(made_up.mint(sub=f"u{n}")) for n in range(30)),
                                   return_exceptions=True)
    assert all(isinstance(r, InvalidToken) and "unknown key" in str(r) for r in results)
    # the 30 queued behind one fetch (two when the first ran before the others asked) and then
    # shared the next one
    assert 2 <= jwks.fetches <= 3


async def test_a_key_published_just_after_a_fetch_signs_tokens_that_are_accepted_at_once(
        ) -> None:
    """Issue 10, item 20: the refetch guard delays a new key's first token, never refuses it."""
    old, new = ISSUER, TestIssuer()
    jwks = CountingJwks(old)
    v = verifier(jwks, refetch_interval=0.5)
    await v.verify(old.mint())  # keys fetched just now
    jwks.issuers.append(new)  # identity rotated right after
    assert (await v.verify(new.mint(sub="fresh"))).subject == "fresh"
    assert jwks.fetches == 2


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_withdrawn_key_stops_validating_within_the_refresh_interval() -> None:
    """Issue 10, item 6: no need for an unknown kid to come along first."""
    old, new = ISSUER, TestIssuer()
    jwks, clock = CountingJwks(old), FakeClock()
    v = verifier(jwks, refresh_interval=60.0, clock=clock)
    token = old.mint()
    await v.verify(token)
    jwks.issuers = [new]  # identity no longer publishes the old key
    clock.now += 59
    await v.verify(token)  # within the interval: still the set fetched before
    assert (v.withdrawals, jwks.fetches) == (0, 1)
    clock.now += 1
    with pytest.raises(InvalidToken, match="unknown key"):
        await v.verify(token)  # the cached verdict went with the key
    assert (v.withdrawals, jwks.fetches) == (1, 2)
    await v.verify(new.mint())


async def test_keys_that_cannot_be_refreshed_are_kept_for_max_stale_then_dropped() -> None:
    jwks, clock = CountingJwks(ISSUER), FakeClock()
    v = verifier(jwks, refresh_interval=60.0, max_stale=900.0, clock=clock)
    await v.verify(ISSUER.mint())

    async def unreachable() -> dict[str, object]:
        raise ConnectionError("identity is down")

    jwks.fetch = unreachable  # type: ignore[method-assign]
    clock.now += 899
    await v.verify(ISSUER.mint(sub="during-the-outage"))  # the last set still serves
    clock.now += 1
    with pytest.raises(InvalidToken):
        await v.verify(ISSUER.mint(sub="too-long-after"))


async def test_verified_tokens_are_cached_until_expiry() -> None:
    v = verifier()
    token = ISSUER.mint()
    first = await v.verify(token)
    assert await v.verify(token) is first


class Me(msgspec.Struct):
    id: str
    roles: list[str]
    service: str | None = None


router = Router()


@router.get("/v1/me", auth=USER)
async def me(user: Principal) -> Me:
    return Me(user.id, list(user.roles))


@router.get("/v1/admin", auth=ADMIN)
async def admin(user: Principal) -> Me:
    return Me(user.id, list(user.roles))


@router.get("/v1/internal", auth=services({"orders"}))
async def internal(caller: Principal) -> Me:
    return Me(caller.id, list(caller.roles), caller.service)


def make_app() -> App:
    app = create_service_app(ServiceSettings(service_name="demo", port=1), title="demo",
                             use_broker=False, verify_tokens=False, routers=[router])
    app.verifier = verifier()
    return app


@pytest.fixture
async def client() -> AsgiClient:
    async with AsgiClient(make_app()) as c:
        yield c  # type: ignore[misc]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("name", list(ATTACKS))
async def test_a_service_answers_every_attack_with_a_401_problem(client: AsgiClient,
                                                                 name: str) -> None:
    reply = await client.request("GET", "/v1/me", headers=bearer(ATTACKS[name]()))
    assert reply.status == 401
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.headers["www-authenticate"].startswith("Bearer")


async def test_a_missing_or_non_bearer_token_is_401(client: AsgiClient) -> None:
    assert (await client.request("GET", "/v1/me")).status == 401
    basic = await client.request("GET", "/v1/me", headers={"Authorization": "Basic dTpw"})
    assert basic.status == 401


async def test_a_token_in_the_query_string_is_refused_even_when_valid(client: AsgiClient) -> None:
    token = ISSUER.mint()
    reply = await client.request("GET", f"/v1/me?access_token={token}", headers=bearer(token))
    assert reply.status == 401 and "URL" in reply.body["detail"]


async def test_roles_and_audiences_are_enforced(client: AsgiClient) -> None:
    async def status(path: str, token: str) -> int:
        return (await client.request("GET", path, headers=bearer(token))).status

    assert (await client.request("GET", "/v1/me", headers=bearer(ISSUER.mint(sub="u1")))
            ).body["id"] == "u1"
    assert await status("/v1/admin", ISSUER.mint()) == 403
    assert await status("/v1/admin", ISSUER.mint(roles=("admin",))) == 200
    # a user token on an internal endpoint, and a service token on a user endpoint: both refused
    assert await status("/v1/internal", ISSUER.mint(roles=("admin",))) == 401
    assert await status("/v1/me", ISSUER.service_token("orders")) == 401
    assert await status("/v1/internal", ISSUER.service_token("cart")) == 403
    reply = await client.request("GET", "/v1/internal",
                                 headers=bearer(ISSUER.service_token("orders")))
    assert reply.body["service"] == "orders"


async def test_an_app_with_auth_routes_and_no_verifier_refuses_to_start() -> None:
    app = create_service_app(ServiceSettings(service_name="demo", port=1), title="demo",
                             use_broker=False, routers=[router])
    with pytest.raises(RuntimeError, match="needs token verification"):
        async with AsgiClient(app):
            pass
