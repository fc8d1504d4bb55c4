"""Identity's API bodies, as msgspec Structs (their JSON Schemas are the OpenAPI document's).

Request bodies ignore unknown fields, so a ``role`` smuggled into a sign-up does nothing;
responses carry no password or hash."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from identity.domain.accounts import User
from identity.domain.audit import AuditEvent

__all__ = ["AccessTokenOut", "AuditEventOut", "Credentials", "Jwk", "JwksOut", "KeyRotatedOut",
           "RefreshIn", "ServiceCredentials", "TokenPairOut", "UserOut"]

# generous caps against oversized bodies; the real rules are the domain's (and a different
# error for a 10 kB password reveals nothing about any account)
_MAX_EMAIL = 320
_MAX_PASSWORD = 1024
_MAX_TOKEN = 256

BEARER: Literal["Bearer"] = "Bearer"


class Credentials(msgspec.Struct, frozen=True):
    email: Annotated[str, Meta(max_length=_MAX_EMAIL, examples=["ada@example.com"])]
    password: Annotated[str, Meta(max_length=_MAX_PASSWORD,
                                  examples=["correct horse battery staple"])]


class RefreshIn(msgspec.Struct, frozen=True):
    refresh_token: Annotated[str, Meta(min_length=1, max_length=_MAX_TOKEN)]


class ServiceCredentials(msgspec.Struct, frozen=True):
    service: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
    secret: Annotated[str, Meta(min_length=1, max_length=_MAX_TOKEN)]


class UserOut(msgspec.Struct, frozen=True):
    id: str
    email: str
    roles: list[str]

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, email=user.email, roles=list(user.roles))


class AccessTokenOut(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    token_type: Literal["Bearer"] = BEARER
    expires_in: Annotated[int, Meta(description="seconds")]


class TokenPairOut(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    token_type: Literal["Bearer"] = BEARER
    expires_in: Annotated[int, Meta(description="seconds")]
    refresh_token: Annotated[str, Meta(description="single use: each refresh returns a new one")]


class KeyRotatedOut(msgspec.Struct, frozen=True):
    kid: Annotated[str, Meta(description="the key that signs from now on")]


class Jwk(msgspec.Struct, frozen=True):
    """An RSA public key (RFC 7517)."""

    kty: Literal["RSA"]
    use: Literal["sig"]
    alg: Literal["RS256"]
    kid: str
    n: str
    e: str


class JwksOut(msgspec.Struct, frozen=True):
    keys: Annotated[list[Jwk], Meta(description="the active key first, then retired ones")]


class AuditEventOut(msgspec.Struct, frozen=True):
    id: str
    at: datetime
    event: str
    user_id: str | None
    email: str | None
    client: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventOut:
        return cls(id=event.id, at=event.at, event=event.event.value, user_id=event.user_id,
                   email=event.email, client=event.client, detail=event.detail)
