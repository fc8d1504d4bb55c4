"""Refresh tokens: opaque, single use, grouped in one family per login.

Presenting a token that was already used means two parties hold the family (one of them a
thief, and we cannot tell which), so the whole family is revoked (OAuth 2.0 Security BCP §4.14).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

__all__ = ["RefreshToken", "RefreshVerdict", "judge_refresh_token"]


@dataclass(frozen=True, slots=True)
class RefreshToken:
    id: str
    family_id: str
    user_id: str
    token_hash: str  # SHA-256 hex of the token; the token itself is never stored
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


class RefreshVerdict(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REUSED = "reused"  # revoke the family


def judge_refresh_token(token: RefreshToken, now: datetime) -> RefreshVerdict:
    if token.revoked_at is not None:
        return RefreshVerdict.REVOKED
    if token.used_at is not None:
        return RefreshVerdict.REUSED
    if now >= token.expires_at:
        return RefreshVerdict.EXPIRED
    return RefreshVerdict.VALID
