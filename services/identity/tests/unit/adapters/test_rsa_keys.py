"""RS256 keys and signing (adapters/rsa_keys.py), checked by the chassis's own verifier."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chassis.auth import StaticJwks, TokenVerifier
from identity.adapters.rsa_keys import RsaSigner, key_id, public_jwk
from identity.domain.keys import SigningKey

pytestmark = pytest.mark.unit

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SECRET = "a per-deployment secret"


async def test_signs_rs256_with_a_kid_that_the_chassis_verifier_accepts() -> None:
    signer = RsaSigner(SECRET)
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
    signer = RsaSigner(SECRET)
    assert (await signer.new_key(T0)).kid != (await signer.new_key(T0)).kid


async def test_the_private_key_is_stored_encrypted_with_the_deployment_secret() -> None:
    """Issue 10, item 7: a copy of the database alone signs nothing."""
    key = await RsaSigner(SECRET).new_key(T0)
    assert key.private_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(TypeError):  # no password, no key
        serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    with pytest.raises(ValueError):
        RsaSigner("another secret").sign({"sub": "u1"}, key)
    assert RsaSigner(SECRET).seal(key) is None  # already sealed


async def test_a_key_stored_in_the_clear_still_signs_and_is_sealed_on_request() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    clear = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode()
    key = SigningKey(kid=key_id(private.public_key()), private_pem=clear,
                     public_jwk=public_jwk(private.public_key()), created_at=T0)
    signer = RsaSigner(SECRET)
    signer.sign({"sub": "u1"}, key)
    sealed = signer.seal(key)
    assert sealed is not None and sealed.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    signer.sign({"sub": "u1"}, replace(key, private_pem=sealed))


def test_no_secret_no_signer() -> None:
    with pytest.raises(ValueError, match="SIGNING_KEY_SECRET"):
        RsaSigner("")
