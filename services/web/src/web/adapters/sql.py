"""Sessions in plain SQL, portable between SQLite and PostgreSQL."""

from __future__ import annotations

from chassis.db import Row, Transaction
from web.domain.sessions import Session, Tokens
from web.service.ports import SessionStore

__all__ = ["SqlSessions"]

_GET = """
    SELECT id, csrf, user_id, email, roles, access_token, refresh_token, access_expires_at,
           expires_at
    FROM sessions WHERE id = :id AND expires_at > :now
"""
_PUT = """
    INSERT INTO sessions (id, csrf, user_id, email, roles, access_token, refresh_token,
                          access_expires_at, expires_at)
    VALUES (:id, :csrf, :user_id, :email, :roles, :access_token, :refresh_token,
            :access_expires_at, :expires_at)
    ON CONFLICT (id) DO UPDATE SET csrf = excluded.csrf, user_id = excluded.user_id,
        email = excluded.email, roles = excluded.roles, access_token = excluded.access_token,
        refresh_token = excluded.refresh_token, access_expires_at = excluded.access_expires_at,
        expires_at = excluded.expires_at
"""
_DELETE = "DELETE FROM sessions WHERE id = :id"
_DELETE_EXPIRED = """
    DELETE FROM sessions WHERE id IN (
        SELECT id FROM sessions WHERE expires_at <= :now ORDER BY expires_at LIMIT :limit)
"""


def _session(row: Row) -> Session:
    tokens = None
    if row["access_token"] and row["refresh_token"]:
        tokens = Tokens(row["access_token"], row["refresh_token"], row["access_expires_at"])
    return Session(id=row["id"], csrf=row["csrf"], expires_at=row["expires_at"],
                   user_id=row["user_id"], email=row["email"],
                   roles=tuple(r for r in row["roles"].split(",") if r), tokens=tokens)


class SqlSessions(SessionStore):
    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, session_id: str, now: float) -> Session | None:
        row = await self._tx.fetch_one(_GET, {"id": session_id, "now": now})
        return None if row is None else _session(row)

    async def put(self, session: Session) -> None:
        tokens = session.tokens
        await self._tx.execute(_PUT, {
            "id": session.id, "csrf": session.csrf, "user_id": session.user_id,
            "email": session.email, "roles": ",".join(session.roles),
            "access_token": tokens.access_token if tokens else None,
            "refresh_token": tokens.refresh_token if tokens else None,
            "access_expires_at": tokens.access_expires_at if tokens else 0.0,
            "expires_at": session.expires_at})

    async def delete(self, session_id: str) -> None:
        await self._tx.execute(_DELETE, {"id": session_id})

    async def delete_expired(self, now: float, limit: int) -> int:
        return await self._tx.execute(_DELETE_EXPIRED, {"now": now, "limit": limit})
