"""The real argon2 hasher, RSA signer and credentials file, without a database or sockets."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jwt
import pytest

from chassis.auth import StaticJwks, TokenVerifier
from identity.adapters.passwords import Argon2Hasher
from identity.adapters.rsa_keys import RsaSigner
from identity.adapters.service_credentials import load_service_credentials

from .fakes import T0

pytestmark = pytest.mark.unit

OWASP_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"


async def test_hashes_with_argon2id_and_owasps_parameters() -> None:
    hasher = Argon2Hasher()
    stored = await hasher.hash("correct horse battery staple")
    assert stored.startswith(OWASP_PREFIX)
    assert await hasher.verify(stored, "correct horse battery staple")
    assert not await hasher.verify(stored, "Correct horse battery staple")
    assert not await hasher.verify("not a hash", "anything")
    assert not hasher.needs_rehash(stored)
    assert Argon2Hasher(time_cost=3).needs_rehash(stored)
    assert hasher.dummy_hash.startswith(OWASP_PREFIX)


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


def test_reads_the_service_credentials_file(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"orders": digest}))
    assert load_service_credentials(str(path)) == {"orders": digest}
    assert load_service_credentials("") == {}
    path.write_text(json.dumps({"orders": "plain-secret"}))
    with pytest.raises(ValueError, match="sha256"):
        load_service_credentials(str(path))
