"""The JSON shapes of identity's API. Request bodies ignore unknown fields (``extra="ignore"``),
so a ``role`` smuggled into a sign-up does nothing; responses carry no password or hash."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from identity.domain.accounts import User
from identity.domain.audit import AuditEvent

__all__ = ["AccessTokenOut", "AuditEventOut", "AuditPageOut", "Credentials", "KeyRotatedOut",
           "RefreshIn", "ServiceCredentials", "TokenPairOut", "UserOut", "problem_responses"]

# generous caps against oversized bodies; the real rules are the domain's (and a different
# error for a 10 kB password reveals nothing about any account)
_MAX_EMAIL = 320
_MAX_PASSWORD = 1024
_MAX_TOKEN = 256


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Credentials(_In):
    email: str = Field(max_length=_MAX_EMAIL, examples=["ada@example.com"])
    password: str = Field(max_length=_MAX_PASSWORD)


class RefreshIn(_In):
    refresh_token: str = Field(min_length=1, max_length=_MAX_TOKEN)


class ServiceCredentials(_In):
    service: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    secret: str = Field(min_length=1, max_length=_MAX_TOKEN)


class UserOut(_Out):
    id: str
    email: str
    roles: list[str]

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, email=user.email, roles=list(user.roles))


class AccessTokenOut(_Out):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int = Field(description="seconds")


class TokenPairOut(AccessTokenOut):
    refresh_token: str = Field(description="single use: each refresh returns a new one")


class KeyRotatedOut(_Out):
    kid: str = Field(description="the key that signs from now on")


class AuditEventOut(_Out):
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


class AuditPageOut(_Out):
    items: list[AuditEventOut] = Field(description="newest first")


def problem_responses(described: Mapping[int, str] | None = None) -> dict[int | str, Any]:
    """OpenAPI entries for problem+json answers."""
    from chassis.problems import PROBLEM_JSON

    return {status: {"description": text, "content": {PROBLEM_JSON: {}}}
            for status, text in (described or {}).items()}
