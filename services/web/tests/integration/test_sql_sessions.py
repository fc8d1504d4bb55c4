"""The session table on real SQLite and PostgreSQL: put/get/upsert, expiry, pruning."""

from __future__ import annotations

import pytest

from chassis.db import SqlUnitOfWork
from chassis.testing import connected_database
from web.adapters.sql import SqlSessions
from web.domain.sessions import Session, Tokens

pytestmark = pytest.mark.integration


async def test_sessions_round_trip_upsert_expire_and_prune(database_url: str) -> None:
    async with connected_database(database_url, "web") as db:
        uow = SqlUnitOfWork(db.transaction, SqlSessions)
        anonymous = Session(id="a" * 64, csrf="c1", expires_at=200.0)
        signed_in = Session(id="b" * 64, csrf="c2", expires_at=300.0, user_id="u1",
                            email="u1@souk.local", roles=("customer", "admin"),
                            tokens=Tokens("acc", "ref", 150.0))
        async with uow() as store:
            await store.put(anonymous)
            await store.put(signed_in)
        async with uow(readonly=True) as store:
            assert await store.get(anonymous.id, now=100.0) == anonymous
            assert await store.get(signed_in.id, now=100.0) == signed_in
            assert await store.get(anonymous.id, now=200.0) is None  # expired
        refreshed = signed_in.with_tokens(Tokens("acc2", "ref2", 900.0))
        async with uow() as store:
            await store.put(refreshed)
        async with uow(readonly=True) as store:
            assert await store.get(signed_in.id, now=100.0) == refreshed
        async with uow() as store:
            assert await store.delete_expired(now=250.0, limit=10) == 1
            await store.delete(signed_in.id)
        async with uow(readonly=True) as store:
            assert await store.get(signed_in.id, now=100.0) is None
