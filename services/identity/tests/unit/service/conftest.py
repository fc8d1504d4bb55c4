"""In-memory stand-ins for what identity's use cases need (no sockets, no files)."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chassis.auth import ServiceCredentials
from identity.domain.accounts import User
from identity.domain.audit import AuditEvent
from identity.domain.keys import SigningKey
from identity.domain.refresh import RefreshToken
from identity.domain.throttle import FailureCount, ThrottlePolicy
from identity.domain.tokens import TokenPolicy
from identity.service.context import IdentityContext
from identity.service.ports import IdentityRepository

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Store:
    users: dict[str, User] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    failures: list[tuple[str, str, datetime]] = field(default_factory=list)
    keys: dict[str, SigningKey] = field(default_factory=dict)
    audit: list[AuditEvent] = field(default_factory=list)


class InMemoryRepository:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def add_user_if_absent(self, user: User) -> bool:
        if any(u.email == user.email for u in self.s.users.values()):
            return False
        self.s.users[user.id] = user
        return True

    async def user_by_email(self, email: str) -> User | None:
        return next((u for u in self.s.users.values() if u.email == email), None)

    async def user_by_id(self, user_id: str) -> User | None:
        return self.s.users.get(user_id)

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.s.users[user_id] = replace(self.s.users[user_id], password_hash=password_hash)

    async def add_refresh_token(self, token: RefreshToken) -> None:
        self.s.refresh[token.id] = token

    async def refresh_token_by_hash(self, token_hash: str) -> RefreshToken | None:
        return next((t for t in self.s.refresh.values() if t.token_hash == token_hash), None)

    async def mark_refresh_token_used(self, token_id: str, now: datetime) -> bool:
        token = self.s.refresh[token_id]
        if token.used_at is not None:
            return False
        self.s.refresh[token_id] = replace(token, used_at=now)
        return True

    async def revoke_refresh_family(self, family_id: str, now: datetime) -> None:
        for key, token in self.s.refresh.items():
            if token.family_id == family_id and token.revoked_at is None:
                self.s.refresh[key] = replace(token, revoked_at=now)

    async def add_login_failure(self, scope: str, key: str, at: datetime) -> None:
        self.s.failures.append((scope, key, at))

    async def login_failures(self, scope: str, key: str, since: datetime) -> FailureCount:
        times = [at for s, k, at in self.s.failures if (s, k) == (scope, key) and at > since]
        return FailureCount(len(times), max(times, default=None))

    async def clear_login_failures(self, scope: str, key: str) -> None:
        self.s.failures = [f for f in self.s.failures if f[:2] != (scope, key)]

    async def prune_login_failures(self, before: datetime) -> None:
        self.s.failures = [f for f in self.s.failures if f[2] > before]

    async def active_signing_key(self) -> SigningKey | None:
        return next((k for k in self.s.keys.values() if k.active), None)

    async def add_active_signing_key_if_none(self, key: SigningKey) -> bool:
        if await self.active_signing_key() is not None:
            return False
        self.s.keys[key.kid] = key
        return True

    async def retire_active_signing_key(self, now: datetime) -> None:
        for kid, key in self.s.keys.items():
            if key.active:
                self.s.keys[kid] = replace(key, retired_at=now)

    async def signing_keys_retired_since(self, since: datetime) -> list[SigningKey]:
        return [k for k in self.s.keys.values() if k.retired_at is None or k.retired_at >= since]

    async def signing_keys(self) -> list[SigningKey]:
        return list(self.s.keys.values())

    async def set_private_pem(self, kid: str, private_pem: str) -> None:
        self.s.keys[kid] = replace(self.s.keys[kid], private_pem=private_pem)

    async def add_audit_event(self, event: AuditEvent) -> None:
        self.s.audit.append(event)

    async def audit_events(self, *, before: tuple[datetime, str] | None,
                           limit: int) -> list[AuditEvent]:
        newest_first = sorted(self.s.audit, key=lambda e: (e.at, e.id), reverse=True)
        return [e for e in newest_first if before is None or (e.at, e.id) < before][:limit]


class InMemoryUnitOfWork:
    """A transaction that raises leaves the store as it was."""

    def __init__(self) -> None:
        self.store = Store()

    @asynccontextmanager
    async def __call__(self, *, readonly: bool = False) -> AsyncIterator[IdentityRepository]:
        saved = copy.deepcopy(self.store)
        try:
            yield InMemoryRepository(self.store)
        except BaseException:
            self.store = saved
            raise


class FakeHasher:
    """``v<version>:<password>``; a hash of another version needs a rehash."""

    def __init__(self, version: int = 1) -> None:
        self.version = version
        self.verified: list[str] = []

    async def hash(self, password: str) -> str:
        return f"v{self.version}:{password}"

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash)
        return password_hash.split(":", 1)[1] == password

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"v{self.version}:")

    @property
    def dummy_hash(self) -> str:
        return f"v{self.version}:\x00dummy"


class FakeSigner:
    """Tokens are JSON of the header and claims: readable in assertions."""

    def __init__(self) -> None:
        self.made = 0

    async def new_key(self, now: datetime) -> SigningKey:
        self.made += 1
        kid = f"kid{self.made}"
        return SigningKey(kid=kid, private_pem="sealed:secret", public_jwk={"kid": kid}, created_at=now)

    def sign(self, claims: Mapping[str, Any], key: SigningKey) -> str:
        return json.dumps({"kid": key.kid, **claims})

    def seal(self, key: SigningKey) -> str | None:
        return None if key.private_pem.startswith("sealed:") else f"sealed:{key.private_pem}"


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_context(*, uow: InMemoryUnitOfWork | None = None, hasher: FakeHasher | None = None,
                 clock: Clock | None = None, account_max: int = 3, client_max: int = 10,
                 credentials: Mapping[str, str] | None = None) -> IdentityContext:
    """The context app.py builds, over the fakes; throttling at 3 failures per account and 10
    per client address in 300 s, 60 s lock-outs."""
    window, lockout = timedelta(seconds=300), timedelta(seconds=60)
    return IdentityContext(
        uow=uow or InMemoryUnitOfWork(), hasher=hasher or FakeHasher(), signer=FakeSigner(),
        clock=clock or Clock(),
        tokens=TokenPolicy(issuer="souk-identity", audience="souk", internal_audience="souk-internal",
                           access_ttl=900, service_ttl=300, refresh_ttl=30 * 86400),
        account_throttle=ThrottlePolicy(account_max, window, lockout),
        client_throttle=ThrottlePolicy(client_max, window, lockout),
        common_passwords=frozenset({"password", "iloveyou1"}),
        service_credentials=ServiceCredentials(credentials or {}))
