"""What the use cases need from the outside world, as protocols. ``identity.adapters`` implements
them over the chassis database, argon2 and PyJWT; the unit tests implement them in memory."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from chassis.db import UnitOfWork
from identity.domain.accounts import User
from identity.domain.audit import AuditEvent
from identity.domain.keys import SigningKey
from identity.domain.refresh import RefreshToken
from identity.domain.throttle import FailureCount

__all__ = ["Clock", "IdentityRepository", "IdentityUnitOfWork", "PasswordHasher", "TokenSigner"]

Clock = Callable[[], datetime]


class IdentityRepository(Protocol):
    """Identity's tables, seen from inside one transaction."""

    async def add_user_if_absent(self, user: User) -> bool:
        """Insert unless the email is taken (even by a concurrent transaction); True if inserted."""
        ...

    async def user_by_email(self, email: str) -> User | None: ...

    async def user_by_id(self, user_id: str) -> User | None: ...

    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...

    async def add_refresh_token(self, token: RefreshToken) -> None: ...

    async def refresh_token_by_hash(self, token_hash: str) -> RefreshToken | None: ...

    async def mark_refresh_token_used(self, token_id: str, now: datetime) -> bool:
        """Set ``used_at`` unless already set; False when another request used it first."""
        ...

    async def revoke_refresh_family(self, family_id: str, now: datetime) -> None: ...

    async def add_login_failure(self, scope: str, key: str, at: datetime) -> None: ...

    async def login_failures(self, scope: str, key: str, since: datetime) -> FailureCount: ...

    async def clear_login_failures(self, scope: str, key: str) -> None: ...

    async def prune_login_failures(self, before: datetime) -> None: ...

    async def active_signing_key(self) -> SigningKey | None: ...

    async def add_active_signing_key_if_none(self, key: SigningKey) -> bool:
        """Insert ``key`` as the active key unless one is active; True if inserted."""
        ...

    async def retire_active_signing_key(self, now: datetime) -> None: ...

    async def signing_keys_retired_since(self, since: datetime) -> list[SigningKey]:
        """The active key and every key retired at or after ``since``."""
        ...

    async def signing_keys(self) -> list[SigningKey]:
        """Every signing key, retired or not."""
        ...

    async def set_private_pem(self, kid: str, private_pem: str) -> None: ...

    async def add_audit_event(self, event: AuditEvent) -> None: ...

    async def audit_events(self, *, before: tuple[datetime, str] | None,
                           limit: int) -> list[AuditEvent]:
        """Newest first (by time, then id), older than ``before`` (an event's time and id)."""
        ...


IdentityUnitOfWork = UnitOfWork[IdentityRepository]


class PasswordHasher(Protocol):
    """A slow, salted password hash (argon2id); the slow parts run off the event loop."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than today's."""
        ...

    @property
    def dummy_hash(self) -> str:
        """A hash to verify against when the account does not exist, so that path costs the
        same time as a wrong password."""
        ...


class TokenSigner(Protocol):
    """Makes keys whose private half is stored encrypted, and signs with them."""

    async def new_key(self, now: datetime) -> SigningKey: ...

    def sign(self, claims: Mapping[str, Any], key: SigningKey) -> str: ...

    def seal(self, key: SigningKey) -> str | None:
        """``key``'s private PEM encrypted, if it is stored in the clear (else None)."""
        ...
