"""Accounts (service/accounts.py): sign-up, the bootstrap admin, the caller's profile."""

from __future__ import annotations

import pytest

from identity.domain.audit import AuditKind
from identity.domain.errors import EmailTaken, InvalidCredentials, WeakPassword
from identity.service import accounts

from .conftest import InMemoryUnitOfWork, make_context

pytestmark = pytest.mark.unit

PASSWORD = "a fine long passphrase"


def events(uow: object) -> list[AuditKind]:
    assert isinstance(uow, InMemoryUnitOfWork)
    return [e.event for e in uow.store.audit]


async def test_sign_up_makes_a_customer_with_a_normalised_email() -> None:
    ctx = make_context()
    user = await accounts.sign_up(ctx, email=" Ada@Example.com ", password=PASSWORD)
    assert (user.email, user.roles) == ("ada@example.com", ("customer",))
    with pytest.raises(EmailTaken):
        await accounts.sign_up(ctx, email="ADA@example.com", password=PASSWORD)
    with pytest.raises(WeakPassword):
        await accounts.sign_up(ctx, email="bob@example.com", password="Password")
    assert events(ctx.uow) == [AuditKind.SIGNUP]


async def test_the_bootstrap_admin_is_created_once_and_never_changes_an_existing_account() -> None:
    ctx = make_context()
    assert await accounts.ensure_admin(ctx, email="root@souk.local", password="long enough pw")
    assert not await accounts.ensure_admin(ctx, email="root@souk.local", password="long enough pw")
    uow = ctx.uow
    assert isinstance(uow, InMemoryUnitOfWork)
    assert [u.roles for u in uow.store.users.values()] == [("admin",)]
    assert [e.event for e in uow.store.audit] == [AuditKind.SIGNUP, AuditKind.ROLE_GRANTED]


async def test_the_profile_of_an_account_deleted_since_its_token_was_issued_is_refused() -> None:
    ctx = make_context()
    with pytest.raises(InvalidCredentials):
        await accounts.profile(ctx, "no-such-user")
