"""Sessions: open (anonymous, for a form's CSRF token), find (refreshing the access token when it
is about to expire), sign in (a new session: no fixation), sign out (the row is gone, so the old
cookie opens nothing)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

from web.domain.sessions import Session, hash_token, new_token
from web.service.ports import Identity, IdentityRefused, SessionUnitOfWork

__all__ = ["Opened", "Sessions"]


@dataclass(frozen=True, slots=True)
class Opened:
    """A session and the cookie token that opens it (set it on the response)."""

    session: Session
    token: str


@dataclass(frozen=True, slots=True)
class Sessions:
    uow: SessionUnitOfWork
    identity: Identity
    signed_in_seconds: float
    anonymous_seconds: float

    async def find(self, token: str | None, now: float) -> Session | None:
        """The live session this cookie token opens, its access token fresh; else None (an
        unknown or expired one, or a signed-in one whose refresh identity refused)."""
        if not token or len(token) > 100:
            return None
        async with self.uow(readonly=True) as store:
            session = await store.get(hash_token(token), now)
        if session is None or not session.needs_refresh(now):
            return session
        assert session.tokens is not None
        try:
            tokens = await self.identity.refresh(session.tokens.refresh_token)
        except IdentityRefused:  # spent or revoked: the user signs in again
            async with self.uow() as store:
                await store.delete(session.id)
            return None
        session = replace(session.with_tokens(tokens), expires_at=now + self.signed_in_seconds)
        async with self.uow() as store:
            await store.put(session)
        return session

    async def open_anonymous(self, now: float) -> Opened:
        token = new_token()
        session = Session(id=hash_token(token), csrf=new_token(),
                          expires_at=now + self.anonymous_seconds)
        async with self.uow() as store:
            await store.put(session)
        return Opened(session, token)

    async def sign_in(self, email: str, password: str, previous: Session | None,
                      now: float, client: str | None = None) -> Opened:
        """Log in with identity for the visitor at ``client``; the new session replaces
        ``previous`` (raises :class:`IdentityRefused` for bad credentials)."""
        user = await self.identity.log_in(email, password, client)
        token = new_token()
        session = Session(id=hash_token(token), csrf=new_token(),
                          expires_at=now + self.signed_in_seconds, user_id=user.user_id,
                          email=user.email, roles=user.roles, tokens=user.tokens)
        async with self.uow() as store:
            if previous is not None:
                await store.delete(previous.id)
            await store.put(session)
        return Opened(session, token)

    async def sign_out(self, session: Session) -> None:
        """Forget the session here and revoke its refresh token at identity (best effort: the
        session is gone either way)."""
        async with self.uow() as store:
            await store.delete(session.id)
        if session.tokens is not None:
            with contextlib.suppress(IdentityRefused):
                await self.identity.log_out(session.tokens.refresh_token)

    async def prune(self, now: float, limit: int = 500) -> int:
        async with self.uow() as store:
            return await store.delete_expired(now, limit)
