"""RS256 signing keys: RSA-2048 generated here, kid derived from the public key, JWT by PyJWT.

The private key is stored encrypted (PKCS#8 with the best encryption ``cryptography`` offers: a
key derived from ``secret``, the per-deployment secret the launcher provides, by PBKDF2, then
AES-256-CBC): a copy of the database alone signs nothing."""

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


_ENCRYPTED = "-----BEGIN ENCRYPTED PRIVATE KEY-----"


def _sealed_pem(private: rsa.RSAPrivateKey, secret: bytes) -> str:
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.BestAvailableEncryption(secret)).decode()


def _generate(now: datetime, secret: bytes) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    public = private.public_key()
    return SigningKey(kid=key_id(public), private_pem=_sealed_pem(private, secret),
                      public_jwk=public_jwk(public), created_at=now)


@lru_cache(maxsize=8)
def _load_private(pem: str, secret: bytes) -> Any:
    # parsing (and decrypting) a PEM costs milliseconds; a process signs with one key for hours.
    # A key stored before keys were encrypted is read as it is, until seal() rewrites it.
    password = secret if pem.startswith(_ENCRYPTED) else None
    return serialization.load_pem_private_key(pem.encode(), password=password)


class RsaSigner:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("signing keys are stored encrypted: a secret is required "
                             "(IDENTITY_SIGNING_KEY_SECRET)")
        self._secret = secret.encode()

    async def new_key(self, now: datetime) -> SigningKey:
        # RSA key generation takes up to a second: off the event loop
        return await asyncio.to_thread(_generate, now, self._secret)

    def sign(self, claims: Mapping[str, Any], key: SigningKey) -> str:
        return jwt.encode(dict(claims), _load_private(key.private_pem, self._secret),
                          algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"})

    def seal(self, key: SigningKey) -> str | None:
        """The key's private PEM encrypted, when it is stored in the clear; else None."""
        if key.private_pem.startswith(_ENCRYPTED):
            return None
        private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        return _sealed_pem(private, self._secret)
