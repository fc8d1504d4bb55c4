"""Log-in, refresh rotation and reuse detection, throttling: the use cases over fakes."""

from __future__ import annotations

import json

import pytest

from identity.domain.audit import AuditKind
from identity.domain.errors import (
    InvalidCredentials,
    InvalidRefreshToken,
    TooManyAttempts,
)
from identity.service import accounts, sessions, signing
from identity.service.context import IdentityContext

from .conftest import Clock, FakeHasher, InMemoryUnitOfWork, make_context

pytestmark = pytest.mark.unit

PASSWORD = "a fine long passphrase"


async def ready(ctx: IdentityContext) -> IdentityContext:
    await signing.ensure_signing_key(ctx)
    await accounts.sign_up(ctx, email="Ada@Example.com", password=PASSWORD)
    return ctx


def events(ctx: IdentityContext) -> list[AuditKind]:
    uow = ctx.uow
    assert isinstance(uow, InMemoryUnitOfWork)
    return [e.event for e in uow.store.audit]


async def log_in(ctx: IdentityContext, email: str = "ada@example.com", password: str = PASSWORD,
                 client: str = "10.0.0.1") -> sessions.TokenPair:
    return await sessions.log_in(ctx, email=email, password=password, client=client)


async def test_log_in_returns_an_access_token_for_the_user_and_a_refresh_token() -> None:
    ctx = await ready(make_context())
    pair = await log_in(ctx, email="ADA@example.com ")
    claims = json.loads(pair.access_token)
    assert claims["roles"] == ["customer"] and claims["kid"] == "kid1"
    assert pair.expires_in == 900 and len(pair.refresh_token) >= 43
    assert events(ctx)[-1] is AuditKind.LOGIN_SUCCEEDED


async def test_unknown_email_and_wrong_password_fail_alike_and_both_run_a_verify() -> None:
    hasher = FakeHasher()
    ctx = await ready(make_context(hasher=hasher))
    with pytest.raises(InvalidCredentials) as unknown:
        await log_in(ctx, email="nobody@example.com")
    with pytest.raises(InvalidCredentials) as wrong:
        await log_in(ctx, password="not it at all")
    assert str(unknown.value) == str(wrong.value) == "email or password is incorrect"
    assert hasher.verified == [hasher.dummy_hash, "v1:" + PASSWORD]
    assert events(ctx)[-2:] == [AuditKind.LOGIN_FAILED, AuditKind.LOGIN_FAILED]


async def test_a_hash_made_with_old_parameters_is_replaced_at_log_in() -> None:
    uow = InMemoryUnitOfWork()
    await ready(make_context(uow=uow, hasher=FakeHasher(version=1)))
    await log_in(make_context(uow=uow, hasher=FakeHasher(version=2)))
    assert [u.password_hash for u in uow.store.users.values()] == ["v2:" + PASSWORD]


async def test_the_account_locks_after_max_failures_even_for_the_right_password() -> None:
    clock = Clock()
    ctx = await ready(make_context(clock=clock, account_max=3))
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            await log_in(ctx, password="wrong wrong wrong")
    with pytest.raises(TooManyAttempts) as locked:
        await log_in(ctx)
    assert locked.value.retry_after == 60
    assert events(ctx).count(AuditKind.LOCKOUT) == 1
    clock.advance(60)
    await log_in(ctx)  # the lock is over; success clears the account's failures
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await log_in(ctx, password="wrong wrong wrong")


async def test_unknown_accounts_lock_too_so_locking_reveals_nothing() -> None:
    ctx = await ready(make_context(account_max=2))
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await log_in(ctx, email="nobody@example.com")
    with pytest.raises(TooManyAttempts):
        await log_in(ctx, email="nobody@example.com")


async def test_a_client_address_locks_after_failures_spread_over_many_accounts() -> None:
    ctx = await ready(make_context(account_max=100, client_max=4))
    for n in range(4):
        with pytest.raises(InvalidCredentials):
            await log_in(ctx, email=f"user{n}@example.com", client="10.9.9.9")
    with pytest.raises(TooManyAttempts):
        await log_in(ctx, client="10.9.9.9")
    await log_in(ctx, client="10.0.0.2")  # another address is not affected


async def test_refresh_rotates_the_token_and_reuse_revokes_the_whole_family() -> None:
    ctx = await ready(make_context())
    first = await log_in(ctx)
    second = await sessions.refresh(ctx, refresh_token=first.refresh_token, client="c")
    assert second.refresh_token != first.refresh_token
    third = await sessions.refresh(ctx, refresh_token=second.refresh_token, client="c")

    with pytest.raises(InvalidRefreshToken):  # a thief replays the first one
        await sessions.refresh(ctx, refresh_token=first.refresh_token, client="c")
    with pytest.raises(InvalidRefreshToken):  # and the newest stops working as well
        await sessions.refresh(ctx, refresh_token=third.refresh_token, client="c")
    assert AuditKind.REFRESH_REUSE_DETECTED in events(ctx)


async def test_another_login_is_another_family_and_survives_a_revocation() -> None:
    ctx = await ready(make_context())
    phone, laptop = await log_in(ctx), await log_in(ctx)
    await sessions.log_out(ctx, refresh_token=phone.refresh_token, client="c")
    with pytest.raises(InvalidRefreshToken):
        await sessions.refresh(ctx, refresh_token=phone.refresh_token, client="c")
    await sessions.refresh(ctx, refresh_token=laptop.refresh_token, client="c")


async def test_an_expired_or_unknown_refresh_token_is_refused() -> None:
    clock = Clock()
    ctx = await ready(make_context(clock=clock))
    pair = await log_in(ctx)
    with pytest.raises(InvalidRefreshToken):
        await sessions.refresh(ctx, refresh_token="made-up", client="c")
    clock.advance(30 * 86400)
    with pytest.raises(InvalidRefreshToken):
        await sessions.refresh(ctx, refresh_token=pair.refresh_token, client="c")


async def test_logging_out_twice_or_with_an_unknown_token_is_harmless() -> None:
    ctx = await ready(make_context())
    pair = await log_in(ctx)
    await sessions.log_out(ctx, refresh_token=pair.refresh_token, client="c")
    await sessions.log_out(ctx, refresh_token=pair.refresh_token, client="c")
    await sessions.log_out(ctx, refresh_token="unknown", client="c")
    assert events(ctx).count(AuditKind.LOGOUT) == 1
