"""Identity's tables in plain SQL (SQLite and PostgreSQL alike), behind ``IdentityRepository``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from chassis.db import Row, Transaction
from chassis.db.timestamps import from_db_timestamp, to_db_timestamp
from chassis.ids import new_id
from identity.domain.accounts import Role, User
from identity.domain.audit import AuditEvent, AuditKind
from identity.domain.keys import SigningKey
from identity.domain.refresh import RefreshToken
from identity.domain.throttle import FailureCount
from identity.service.ports import IdentityRepository

__all__ = ["SqlIdentity"]

_USER = "SELECT id, email, password_hash, role, created_at FROM users"
_REFRESH = """SELECT id, family_id, user_id, token_hash, issued_at, expires_at, used_at, revoked_at
              FROM refresh_tokens"""
_KEY = "SELECT kid, private_pem, public_jwk, created_at, retired_at FROM signing_keys"
_AUDIT = "SELECT id, at, event, user_id, email, client, detail FROM audit_events"
_OBJECT = msgspec.json.Decoder(dict[str, Any])


def _opt_ts(value: object) -> datetime | None:
    return None if value is None else from_db_timestamp(value)


def _user(row: Row) -> User:
    return User(id=row["id"], email=row["email"], password_hash=row["password_hash"],
                role=Role(row["role"]), created_at=from_db_timestamp(row["created_at"]))


def _refresh(row: Row) -> RefreshToken:
    return RefreshToken(id=row["id"], family_id=row["family_id"], user_id=row["user_id"],
                        token_hash=row["token_hash"], issued_at=from_db_timestamp(row["issued_at"]),
                        expires_at=from_db_timestamp(row["expires_at"]),
                        used_at=_opt_ts(row["used_at"]), revoked_at=_opt_ts(row["revoked_at"]))


def _key(row: Row) -> SigningKey:
    return SigningKey(kid=row["kid"], private_pem=row["private_pem"],
                      public_jwk=_OBJECT.decode(row["public_jwk"]),
                      created_at=from_db_timestamp(row["created_at"]),
                      retired_at=_opt_ts(row["retired_at"]))


def _audit(row: Row) -> AuditEvent:
    return AuditEvent(id=row["id"], at=from_db_timestamp(row["at"]), event=AuditKind(row["event"]),
                      user_id=row["user_id"], email=row["email"], client=row["client"],
                      detail=_OBJECT.decode(row["detail"]))


class SqlIdentity(IdentityRepository):
    """Identity's tables through one chassis transaction."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def _ts(self, value: datetime | None) -> datetime | str | None:
        return to_db_timestamp(self._tx.dialect, value)

    async def add_user_if_absent(self, user: User) -> bool:
        inserted = await self._tx.execute(
            """INSERT INTO users (id, email, password_hash, role, created_at)
               VALUES (:id, :email, :password_hash, :role, :created_at)
               ON CONFLICT (email) DO NOTHING""",
            {"id": user.id, "email": user.email, "password_hash": user.password_hash,
             "role": user.role.value, "created_at": self._ts(user.created_at)})
        return inserted > 0

    async def user_by_email(self, email: str) -> User | None:
        row = await self._tx.fetch_one(f"{_USER} WHERE email = :email", {"email": email})
        return None if row is None else _user(row)

    async def user_by_id(self, user_id: str) -> User | None:
        row = await self._tx.fetch_one(f"{_USER} WHERE id = :id", {"id": user_id})
        return None if row is None else _user(row)

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self._tx.execute("UPDATE users SET password_hash = :hash WHERE id = :id",
                               {"hash": password_hash, "id": user_id})

    async def add_refresh_token(self, token: RefreshToken) -> None:
        await self._tx.execute(
            """INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, issued_at,
                                           expires_at, used_at, revoked_at)
               VALUES (:id, :family_id, :user_id, :token_hash, :issued_at, :expires_at,
                       :used_at, :revoked_at)""",
            {"id": token.id, "family_id": token.family_id, "user_id": token.user_id,
             "token_hash": token.token_hash, "issued_at": self._ts(token.issued_at),
             "expires_at": self._ts(token.expires_at), "used_at": self._ts(token.used_at),
             "revoked_at": self._ts(token.revoked_at)})

    async def refresh_token_by_hash(self, token_hash: str) -> RefreshToken | None:
        row = await self._tx.fetch_one(f"{_REFRESH} WHERE token_hash = :hash", {"hash": token_hash})
        return None if row is None else _refresh(row)

    async def mark_refresh_token_used(self, token_id: str, now: datetime) -> bool:
        changed = await self._tx.execute(
            "UPDATE refresh_tokens SET used_at = :now WHERE id = :id AND used_at IS NULL",
            {"now": self._ts(now), "id": token_id})
        return changed > 0

    async def revoke_refresh_family(self, family_id: str, now: datetime) -> None:
        await self._tx.execute(
            """UPDATE refresh_tokens SET revoked_at = :now
               WHERE family_id = :family AND revoked_at IS NULL""",
            {"now": self._ts(now), "family": family_id})

    async def add_login_failure(self, scope: str, key: str, at: datetime) -> None:
        await self._tx.execute(
            "INSERT INTO login_failures (id, scope, key, at) VALUES (:id, :scope, :key, :at)",
            {"id": new_id(), "scope": scope, "key": key, "at": self._ts(at)})

    async def login_failures(self, scope: str, key: str, since: datetime) -> FailureCount:
        row = await self._tx.fetch_one(
            """SELECT COUNT(*) AS n, MAX(at) AS latest FROM login_failures
               WHERE scope = :scope AND key = :key AND at > :since""",
            {"scope": scope, "key": key, "since": self._ts(since)})
        assert row is not None
        return FailureCount(int(row["n"]), _opt_ts(row["latest"]))

    async def clear_login_failures(self, scope: str, key: str) -> None:
        await self._tx.execute("DELETE FROM login_failures WHERE scope = :scope AND key = :key",
                               {"scope": scope, "key": key})

    async def prune_login_failures(self, before: datetime) -> None:
        await self._tx.execute("DELETE FROM login_failures WHERE at <= :before",
                               {"before": self._ts(before)})

    async def active_signing_key(self) -> SigningKey | None:
        row = await self._tx.fetch_one(f"{_KEY} WHERE state = 'active'")
        return None if row is None else _key(row)

    async def add_active_signing_key_if_none(self, key: SigningKey) -> bool:
        inserted = await self._tx.execute(
            """INSERT INTO signing_keys (kid, private_pem, public_jwk, state, created_at)
               VALUES (:kid, :pem, :jwk, 'active', :created_at)
               ON CONFLICT (state) WHERE state = 'active' DO NOTHING""",
            {"kid": key.kid, "pem": key.private_pem, "jwk": msgspec.json.encode(key.public_jwk).decode(),
             "created_at": self._ts(key.created_at)})
        return inserted > 0

    async def retire_active_signing_key(self, now: datetime) -> None:
        await self._tx.execute(
            "UPDATE signing_keys SET state = 'retired', retired_at = :now WHERE state = 'active'",
            {"now": self._ts(now)})

    async def signing_keys_retired_since(self, since: datetime) -> list[SigningKey]:
        rows = await self._tx.fetch_all(
            f"{_KEY} WHERE state = 'active' OR retired_at >= :since", {"since": self._ts(since)})
        return [_key(row) for row in rows]

    async def signing_keys(self) -> list[SigningKey]:
        return [_key(row) for row in await self._tx.fetch_all(_KEY)]

    async def set_private_pem(self, kid: str, private_pem: str) -> None:
        await self._tx.execute("UPDATE signing_keys SET private_pem = :pem WHERE kid = :kid",
                               {"pem": private_pem, "kid": kid})

    async def add_audit_event(self, event: AuditEvent) -> None:
        await self._tx.execute(
            """INSERT INTO audit_events (id, at, event, user_id, email, client, detail)
               VALUES (:id, :at, :event, :user_id, :email, :client, :detail)""",
            {"id": event.id, "at": self._ts(event.at), "event": event.event.value,
             "user_id": event.user_id, "email": event.email, "client": event.client,
             "detail": msgspec.json.encode(event.detail, order="sorted").decode()})

    async def audit_events(self, *, before: tuple[datetime, str] | None,
                           limit: int) -> list[AuditEvent]:
        where = "" if before is None else " WHERE at < :at OR (at = :at AND id < :id)"
        at, event_id = before or (None, None)
        rows = await self._tx.fetch_all(
            f"{_AUDIT}{where} ORDER BY at DESC, id DESC LIMIT :limit",
            {"at": self._ts(at), "id": event_id, "limit": limit})
        return [_audit(row) for row in rows]
