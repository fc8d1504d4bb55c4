"""A browser's session, as the server keeps it: the cookie carries only a random token.

A visitor gets an anonymous session when a page shows them a form (its CSRF token is the
session's); signing in replaces it with a new one (new token, new CSRF token: no fixation), which
holds the user's access and refresh tokens. Those never reach the browser."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace

__all__ = ["Session", "Tokens", "hash_token", "new_token", "same_secret"]

REFRESH_MARGIN = 30.0  # seconds: an access token this close to expiry is refreshed first


def new_token() -> str:
    """A fresh unguessable token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the database keys a session by: a leaked table names no live cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class Tokens:
    """A signed-in user's tokens, as identity issued them."""

    access_token: str
    refresh_token: str
    access_expires_at: float  # Unix seconds


@dataclass(frozen=True, slots=True)
class Session:
    id: str  # hash_token(cookie token)
    csrf: str
    expires_at: float
    user_id: str | None = None
    email: str | None = None
    roles: tuple[str, ...] = ()
    tokens: Tokens | None = None

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None and self.tokens is not None

    @property
    def is_admin(self) -> bool:
        return self.signed_in and "admin" in self.roles

    def needs_refresh(self, now: float) -> bool:
        return self.tokens is not None and self.tokens.access_expires_at - REFRESH_MARGIN <= now

    def with_tokens(self, tokens: Tokens) -> Session:
        return replace(self, tokens=tokens)
