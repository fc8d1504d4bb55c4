"""Token verification and the auth dependencies, against every JWT attack the edge must refuse.
In memory: the JWKS comes from a callable, the app runs under starlette's in-process client."""

from __future__ import annotations

import time

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from chassis import ServiceSettings, create_service_app
from chassis.auth import (
    CurrentUser,
    InvalidToken,
    Principal,
    StaticJwks,
    TokenVerifier,
    internal_caller,
    require_role,
)
from chassis.testing import TestIssuer

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
    v = verifier(jwks, refetch_interval=60.0)
    await v.verify(ISSUER.mint())
    for _ in range(20):
        with pytest.raises(InvalidToken, match="unknown key"):
            await v.verify(TestIssuer(kid="made-up").mint())
    assert jwks.fetches == 1


async def test_verified_tokens_are_cached_until_expiry() -> None:
    v = verifier()
    token = ISSUER.mint()
    first = await v.verify(token)
    assert await v.verify(token) is first


def make_app() -> FastAPI:
    app = create_service_app(ServiceSettings(service_name="demo", port=1), title="demo",
                             use_broker=False, verify_tokens=False)
    app.state.runtime.verifier = verifier()

    @app.get("/v1/me")
    async def me(user: CurrentUser) -> dict[str, object]:
        return {"id": user.id, "roles": list(user.roles)}

    @app.get("/v1/admin")
    async def admin(user: Principal = Depends(require_role("admin"))) -> dict[str, str]:
        return {"id": user.id}

    @app.get("/v1/internal")
    async def internal(caller: Principal = Depends(internal_caller({"orders"}))) -> dict[str, str]:
        return {"service": caller.service or ""}

    return app


@pytest.fixture
def client() -> TestClient:
    with TestClient(make_app(), raise_server_exceptions=False) as c:
        yield c  # type: ignore[misc]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_service_answers_every_attack_with_a_401_problem(client: TestClient, name: str) -> None:
    resp = client.get("/v1/me", headers=bearer(ATTACKS[name]()))
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["www-authenticate"].startswith("Bearer")


def test_a_missing_or_non_bearer_token_is_401(client: TestClient) -> None:
    assert client.get("/v1/me").status_code == 401
    assert client.get("/v1/me", headers={"Authorization": "Basic dTpw"}).status_code == 401


def test_a_token_in_the_query_string_is_refused_even_when_valid(client: TestClient) -> None:
    token = ISSUER.mint()
    resp = client.get("/v1/me", params={"access_token": token}, headers=bearer(token))
    assert resp.status_code == 401
    assert "URL" in resp.json()["detail"]


def test_roles_and_audiences_are_enforced(client: TestClient) -> None:
    assert client.get("/v1/me", headers=bearer(ISSUER.mint(sub="u1"))).json()["id"] == "u1"
    assert client.get("/v1/admin", headers=bearer(ISSUER.mint())).status_code == 403
    assert client.get("/v1/admin", headers=bearer(ISSUER.mint(roles=("admin",)))).status_code == 200
    # a user token on an internal endpoint, and a service token on a user endpoint: both refused
    assert client.get("/v1/internal", headers=bearer(ISSUER.mint(roles=("admin",)))).status_code == 401
    assert client.get("/v1/me", headers=bearer(ISSUER.service_token("orders"))).status_code == 401
    assert client.get("/v1/internal", headers=bearer(ISSUER.service_token("cart"))).status_code == 403
    resp = client.get("/v1/internal", headers=bearer(ISSUER.service_token("orders")))
    assert resp.json() == {"service": "orders"}
