"""Identity's tables (adapters/sql.py) on SQLite and PostgreSQL: the rules the database itself
enforces, and the queries whose order or window matters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from chassis.db import SqlUnitOfWork
from chassis.ids import new_id
from chassis.testing import connected_database
from identity.adapters.sql import SqlIdentity
from identity.domain.accounts import Role, User
from identity.domain.audit import AuditEvent, AuditKind
from identity.domain.keys import SigningKey
from identity.service.ports import IdentityUnitOfWork

pytestmark = pytest.mark.integration

T0 = datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[IdentityUnitOfWork]:
    async with connected_database(database_url, "identity") as db:
        yield SqlUnitOfWork(db.transaction, SqlIdentity)


def key(kid: str) -> SigningKey:
    return SigningKey(kid=kid, private_pem="pem", public_jwk={"kid": kid, "kty": "RSA"},
                      created_at=T0)


async def test_one_email_one_account_and_at_most_one_active_key(uow: IdentityUnitOfWork) -> None:
    ada = User(id=new_id(), email="ada@example.com", password_hash="h", role=Role.CUSTOMER,
               created_at=T0)
    async with uow() as repo:
        assert await repo.add_user_if_absent(ada)
        assert not await repo.add_user_if_absent(User(
            id=new_id(), email="ada@example.com", password_hash="h2", role=Role.ADMIN,
            created_at=T0))
        assert await repo.add_active_signing_key_if_none(key("k1"))
        assert not await repo.add_active_signing_key_if_none(key("k2"))
    async with uow() as repo:
        await repo.retire_active_signing_key(T0 + timedelta(minutes=1))
        assert await repo.add_active_signing_key_if_none(key("k2"))
    async with uow(readonly=True) as repo:
        assert await repo.user_by_email("ada@example.com") == ada
        active = await repo.active_signing_key()
        assert active is not None and active.kid == "k2"
        alive = await repo.signing_keys_retired_since(T0)
        assert sorted(k.kid for k in alive) == ["k1", "k2"]
        assert [k.kid for k in await repo.signing_keys_retired_since(
            T0 + timedelta(minutes=2))] == ["k2"]


async def test_login_failures_count_inside_their_window(uow: IdentityUnitOfWork) -> None:
    async with uow() as repo:
        for minutes in (0, 1, 2):
            await repo.add_login_failure("account", "ada@example.com", T0 + timedelta(minutes=minutes))
        await repo.add_login_failure("client", "10.0.0.1", T0)
    async with uow() as repo:
        failures = await repo.login_failures("account", "ada@example.com", T0)
        assert (failures.count, failures.latest) == (2, T0 + timedelta(minutes=2))
        await repo.prune_login_failures(T0 + timedelta(minutes=1))
        await repo.clear_login_failures("client", "10.0.0.1")
    async with uow(readonly=True) as repo:
        assert (await repo.login_failures("account", "ada@example.com", T0 - timedelta(1))).count == 1
        assert (await repo.login_failures("client", "10.0.0.1", T0 - timedelta(1))).count == 0


async def test_audit_events_page_newest_first_through_equal_timestamps(
        uow: IdentityUnitOfWork) -> None:
    events = [AuditEvent(id=new_id(), at=T0 + timedelta(seconds=n // 2),
                         event=AuditKind.LOGIN_FAILED, email="ada@example.com",
                         detail={"n": n, "é": "ü"}) for n in range(5)]
    async with uow() as repo:
        for event in events:
            await repo.add_audit_event(event)
    seen: list[AuditEvent] = []
    before = None
    async with uow(readonly=True) as repo:
        while page := await repo.audit_events(before=before, limit=2):
            seen += page
            before = (page[-1].at, page[-1].id)
    assert seen == sorted(events, key=lambda e: (e.at, e.id), reverse=True)
