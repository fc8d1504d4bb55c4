"""JWT verification as RFC 8725 asks: a fixed algorithm allow-list, required claims, bounded
clock skew, keys from a JWKS.

The key set follows identity's within bounded times (docs/decisions.md):

* a key identity publishes is known at the latest when a token signed by it arrives: an unknown
  ``kid`` fetches the JWKS again. At most one fetch per ``refetch_interval`` (a flood of made-up
  kids must not become a flood of fetches), but a request that finds the slot taken waits for the
  next fetch instead of being refused, and requests waiting together share it;
* a key identity stops publishing stops validating within ``refresh_interval`` (plus one fetch):
  the first request that finds the set older than that fetches it again, and verified tokens
  cached under a key that is gone are forgotten;
* while the JWKS cannot be fetched the last set stays in use (an identity outage must not log
  everyone out), for at most ``max_stale`` after the last successful fetch; then every token is
  refused until a fetch succeeds.

Verified tokens are cached until they expire (measured here: an RS256 verify costs ~60 µs, about a
proxy hop), so a client reusing its token pays the signature check once per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from jwt import PyJWK

from chassis import clock

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
                 refetch_interval: float = 1.0, refresh_interval: float = 60.0,
                 max_stale: float = 900.0, cache_size: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._jwks = jwks
        self.issuer = issuer
        self.audiences = [audience] if isinstance(audience, str) else list(audience)
        self.algorithms = list(algorithms)
        self.leeway = leeway
        self._refetch_interval = refetch_interval
        self._refresh_interval = refresh_interval
        self._max_stale = max_stale
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at = -math.inf  # the last successful fetch
        self._attempted_at = -math.inf  # the last fetch begun
        self._fetch_lock = asyncio.Lock()
        self._cache: OrderedDict[str, tuple[Claims, str]] = OrderedDict()  # token: (claims, kid)
        self._cache_size = cache_size
        self.withdrawals = 0
        """Grows whenever identity withdraws a key: a cache of verified tokens kept outside the
        verifier (the gateway's) is cleared when it changes."""

    @property
    def keys_due(self) -> bool:
        """Whether the key set is older than ``refresh_interval``: the next :meth:`verify`
        fetches it again, so a cache kept outside the verifier should verify once more."""
        return self._clock() - self._fetched_at >= self._refresh_interval

    async def verify(self, token: str) -> Claims:
        """Return the token's claims, or raise :class:`InvalidToken`."""
        if self.keys_due:
            await self._refresh_when_due()
        cached = self._cache.get(token)
        if cached is not None:
            if cached[0].expires_at + self.leeway > clock.time():
                return cached[0]
            del self._cache[token]
        claims, kid = await self._verify(token)
        self._cache[token] = (claims, kid)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return claims

    async def _refresh_when_due(self) -> None:
        """The periodic refresh, by the first request that finds the set too old; the others
        go on with the set they have rather than wait for the fetch."""
        if self._fetch_lock.locked():
            return
        async with self._fetch_lock:
            now = self._clock()
            if (now - self._fetched_at < self._refresh_interval
                    or now - self._attempted_at < self._refetch_interval):
                return  # fetched meanwhile, or a failed attempt is too recent to retry
            with contextlib.suppress(InvalidToken):  # keep the set we have, for a while
                await self._refresh()
            if self._clock() - self._fetched_at >= self._max_stale and self._keys:
                self._keys = {}
                self._cache.clear()
                self.withdrawals += 1

    async def _verify(self, token: str) -> tuple[Claims, str]:
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
            # the times are checked below, on this service's clock (chassis.clock)
            payload = jwt.decode(token, key, algorithms=[alg], audience=self.audiences,
                                 issuer=self.issuer, options={
                                     "require": _REQUIRED, "verify_exp": False,
                                     "verify_nbf": False, "verify_iat": False})
        except jwt.InvalidAudienceError:
            raise InvalidToken("token not meant for this audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("token from an unknown issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError:
            raise InvalidToken("bad signature or malformed token") from None
        _check_times(payload, clock.time(), self.leeway)
        return _claims(payload), kid

    async def _key(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is not None:
            return key
        asked = self._clock()
        async with self._fetch_lock:
            # a fetch begun after this request asked has answered it already
            if kid not in self._keys and self._attempted_at < asked:
                # one fetch per refetch_interval at most: wait for the slot, never refuse for it
                wait = self._attempted_at + self._refetch_interval - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("token signed by an unknown key")
        return key

    async def _refresh(self) -> None:
        self._attempted_at = self._clock()
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
        if not self._keys.keys() <= keys.keys():  # a key was withdrawn: so are its tokens
            self._cache = OrderedDict((token, entry) for token, entry in self._cache.items()
                                      if entry[1] in keys)
            self.withdrawals += 1
        self._keys = keys
        self._fetched_at = self._clock()


def _check_times(payload: Mapping[str, Any], now: float, leeway: float) -> None:
    """``exp`` passed, ``nbf`` or ``iat`` ahead of ``now`` by more than ``leeway``: refused."""
    times = {name: payload.get(name) for name in ("exp", "nbf", "iat")}
    for name, value in times.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidToken(f"malformed {name} claim")
    if times["exp"] is not None and times["exp"] + leeway <= now:
        raise InvalidToken("token expired")
    for name in ("nbf", "iat"):
        value = times[name]
        if value is not None and value - leeway > now:
            raise InvalidToken("token not yet valid")


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
