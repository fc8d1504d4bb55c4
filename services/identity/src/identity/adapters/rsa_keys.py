"""RS256 signing keys: RSA-2048 generated here, kid derived from the public key, JWT by PyJWT."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.domain.keys import SigningKey

__all__ = ["RsaSigner", "key_id", "public_jwk"]

ALGORITHM = "RS256"
KEY_BITS = 2048


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """First 12 bytes of SHA-256 over the DER public key, base64url: stable and URL-safe."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64url(hashlib.sha256(der).digest()[:12])


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    numbers = public_key.public_numbers()
    return {"kty": "RSA", "use": "sig", "alg": ALGORITHM, "kid": key_id(public_key),
            "n": _uint(numbers.n), "e": _uint(numbers.e)}


def _generate(now: datetime) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = private.public_key()
    return SigningKey(kid=key_id(public), private_pem=pem, public_jwk=public_jwk(public),
                      created_at=now)


@lru_cache(maxsize=8)
def _load_private(pem: str) -> Any:
    # parsing a PEM costs about a millisecond; a process signs with one key for hours
    return serialization.load_pem_private_key(pem.encode(), password=None)


class RsaSigner:
    async def new_key(self, now: datetime) -> SigningKey:
        # RSA key generation takes up to a second: off the event loop
        return await asyncio.to_thread(_generate, now)

    def sign(self, claims: Mapping[str, Any], key: SigningKey) -> str:
        return jwt.encode(dict(claims), _load_private(key.private_pem), algorithm=ALGORITHM,
                          headers={"kid": key.kid, "typ": "JWT"})
