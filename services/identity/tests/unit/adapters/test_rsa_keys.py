"""RS256 keys and signing (adapters/rsa_keys.py), checked by the chassis's own verifier."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import jwt
import pytest

from chassis.auth import StaticJwks, TokenVerifier
from identity.adapters.rsa_keys import RsaSigner

pytestmark = pytest.mark.unit

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


async def test_signs_rs256_with_a_kid_that_the_chassis_verifier_accepts() -> None:
    signer = RsaSigner()
    key = await signer.new_key(T0)
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", key.kid)
    assert key.public_jwk["kid"] == key.kid
    assert {k: key.public_jwk[k] for k in ("kty", "use", "alg", "e")} == {
        "kty": "RSA", "use": "sig", "alg": "RS256", "e": "AQAB"}
    token = signer.sign({"iss": "souk-identity", "aud": "souk", "sub": "u1", "iat": 2_000_000_000,
                         "exp": 2_000_000_900, "roles": ["customer"]}, key)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": key.kid}

    async def keys() -> dict[str, object]:
        return {"keys": [key.public_jwk]}

    verifier = TokenVerifier(StaticJwks(keys), issuer="souk-identity", audience="souk",
                             leeway=10**10)
    claims = await verifier.verify(token)
    assert (claims.subject, claims.roles) == ("u1", ("customer",))


async def test_two_keys_have_two_kids() -> None:
    signer = RsaSigner()
    assert (await signer.new_key(T0)).kid != (await signer.new_key(T0)).kid
