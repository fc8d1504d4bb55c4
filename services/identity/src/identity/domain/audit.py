"""The audit log: security events, written in the same transaction as what they record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["AuditEvent", "AuditKind"]


class AuditKind(StrEnum):
    SIGNUP = "signup"
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    LOCKOUT = "lockout"
    REFRESH_REUSE_DETECTED = "refresh_reuse_detected"
    LOGOUT = "logout"
    ROLE_GRANTED = "role_granted"
    KEY_ROTATED = "key_rotated"
    SERVICE_TOKEN_ISSUED = "service_token_issued"  # noqa: S105 - an event name
    SERVICE_TOKEN_DENIED = "service_token_denied"  # noqa: S105 - an event name


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: str
    at: datetime
    event: AuditKind
    user_id: str | None = None
    email: str | None = None
    client: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # never a password, hash or token
