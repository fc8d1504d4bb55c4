"""Sessions: anonymous for a form, a new one at sign-in (no fixation), refreshed before the
access token expires, gone at sign-out or when identity refuses the refresh."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from web.domain.sessions import Session, Tokens, hash_token
from web.service.ports import IdentityRefused, SessionStore, SignedIn
from web.service.sessions import Sessions

pytestmark = pytest.mark.unit


@dataclass
class MemoryStore(SessionStore):
    rows: dict[str, Session] = field(default_factory=dict)

    async def get(self, session_id: str, now: float) -> Session | None:
        found = self.rows.get(session_id)
        return found if found is not None and found.expires_at > now else None

    async def put(self, session: Session) -> None:
        self.rows[session.id] = session

    async def delete(self, session_id: str) -> None:
        self.rows.pop(session_id, None)

    async def delete_expired(self, now: float, limit: int) -> int:
        gone = [k for k, v in self.rows.items() if v.expires_at <= now][:limit]
        for key in gone:
            del self.rows[key]
        return len(gone)


@dataclass
class FakeIdentity:
    refreshed: int = 0
    logged_out: list[str] = field(default_factory=list)
    refuse_refresh: bool = False

    async def sign_up(self, email: str, password: str, client: str | None = None) -> None:
        pass

    async def log_in(self, email: str, password: str, client: str | None = None) -> SignedIn:
        if password != "right":
            raise IdentityRefused(401, "invalid-credentials", "no")
        return SignedIn("u1", email, ("customer",), Tokens("a0", "r0", 1000.0))

    async def refresh(self, refresh_token: str) -> Tokens:
        if self.refuse_refresh:
            raise IdentityRefused(401, "invalid-refresh-token", "spent")
        self.refreshed += 1
        return Tokens(f"a{self.refreshed}", f"r{self.refreshed}", 5000.0)

    async def log_out(self, refresh_token: str) -> None:
        self.logged_out.append(refresh_token)


def sessions(store: MemoryStore, identity: FakeIdentity) -> Sessions:
    @asynccontextmanager
    async def uow(readonly: bool = False) -> AsyncIterator[SessionStore]:
        yield store

    return Sessions(uow=uow, identity=identity, signed_in_seconds=3600, anonymous_seconds=60)


async def test_signing_in_replaces_the_visitors_session_with_a_new_one() -> None:
    store, identity = MemoryStore(), FakeIdentity()
    s = sessions(store, identity)
    anonymous = await s.open_anonymous(now=100.0)
    assert not anonymous.session.signed_in and anonymous.session.expires_at == 160.0
    opened = await s.sign_in("a@b.c", "right", anonymous.session, now=110.0)
    assert opened.token != anonymous.token and opened.session.csrf != anonymous.session.csrf
    assert list(store.rows) == [hash_token(opened.token)]  # the old one is gone: no fixation
    assert opened.session.signed_in and opened.session.roles == ("customer",)
    assert await s.find(anonymous.token, now=111.0) is None


async def test_bad_credentials_leave_the_visitors_session_as_it_was() -> None:
    store, identity = MemoryStore(), FakeIdentity()
    s = sessions(store, identity)
    anonymous = await s.open_anonymous(now=100.0)
    with pytest.raises(IdentityRefused):
        await s.sign_in("a@b.c", "wrong", anonymous.session, now=101.0)
    assert await s.find(anonymous.token, now=102.0) == anonymous.session


async def test_an_access_token_about_to_expire_is_refreshed_before_use() -> None:
    store, identity = MemoryStore(), FakeIdentity()
    s = sessions(store, identity)
    opened = await s.sign_in("a@b.c", "right", None, now=100.0)
    assert (await s.find(opened.token, now=900.0)).tokens == Tokens("a0", "r0", 1000.0)  # type: ignore[union-attr]
    fresh = await s.find(opened.token, now=980.0)  # within the margin of its expiry
    assert fresh is not None and fresh.tokens == Tokens("a1", "r1", 5000.0)
    assert store.rows[fresh.id].tokens == fresh.tokens  # kept for the next request


async def test_a_refused_refresh_ends_the_session() -> None:
    store, identity = MemoryStore(), FakeIdentity(refuse_refresh=True)
    s = sessions(store, identity)
    opened = await s.sign_in("a@b.c", "right", None, now=100.0)
    assert await s.find(opened.token, now=990.0) is None
    assert store.rows == {}


async def test_signing_out_deletes_the_session_and_revokes_its_refresh_token() -> None:
    store, identity = MemoryStore(), FakeIdentity()
    s = sessions(store, identity)
    opened = await s.sign_in("a@b.c", "right", None, now=100.0)
    await s.sign_out(opened.session)
    assert await s.find(opened.token, now=101.0) is None
    assert identity.logged_out == ["r0"]


async def test_unknown_odd_and_expired_cookies_open_nothing() -> None:
    store, identity = MemoryStore(), FakeIdentity()
    s = sessions(store, identity)
    opened = await s.open_anonymous(now=100.0)
    assert await s.find(None, now=100.0) is None
    assert await s.find("x" * 500, now=100.0) is None
    assert await s.find("unknown", now=100.0) is None
    assert await s.find(opened.token, now=161.0) is None
    assert await s.prune(now=161.0) == 1
