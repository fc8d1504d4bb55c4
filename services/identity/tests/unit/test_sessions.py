"""Log-in, refresh rotation and reuse detection, throttling: the use cases over fakes."""

from __future__ import annotations

import json

import pytest

from identity.domain.audit import AuditKind
from identity.domain.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidRefreshToken,
    TooManyAttempts,
    WeakPassword,
)
from identity.service import accounts, sessions, signing
from identity.service.ports import IdentityDeps

from .fakes import Clock, FakeHasher, InMemoryUnitOfWork, make_deps

pytestmark = pytest.mark.unit

PASSWORD = "a fine long passphrase"


async def ready(deps: IdentityDeps) -> IdentityDeps:
    await signing.ensure_signing_key(deps)
    await accounts.sign_up(deps, email="Ada@Example.com", password=PASSWORD)
    return deps


def events(deps: IdentityDeps) -> list[AuditKind]:
    uow = deps.uow
    assert isinstance(uow, InMemoryUnitOfWork)
    return [e.event for e in uow.store.audit]


async def log_in(deps: IdentityDeps, email: str = "ada@example.com", password: str = PASSWORD,
                 client: str = "10.0.0.1") -> sessions.TokenPair:
    return await sessions.log_in(deps, email=email, password=password, client=client)


async def test_sign_up_makes_a_customer_with_a_normalised_email() -> None:
    deps = make_deps()
    user = await accounts.sign_up(deps, email=" Ada@Example.com ", password=PASSWORD)
    assert (user.email, user.roles) == ("ada@example.com", ("customer",))
    with pytest.raises(EmailTaken):
        await accounts.sign_up(deps, email="ADA@example.com", password=PASSWORD)
    with pytest.raises(WeakPassword):
        await accounts.sign_up(deps, email="bob@example.com", password="Password")
    assert events(deps) == [AuditKind.SIGNUP]


async def test_log_in_returns_an_access_token_for_the_user_and_a_refresh_token() -> None:
    deps = await ready(make_deps())
    pair = await log_in(deps, email="ADA@example.com ")
    claims = json.loads(pair.access_token)
    assert claims["roles"] == ["customer"] and claims["kid"] == "kid1"
    assert pair.expires_in == 900 and len(pair.refresh_token) >= 43
    assert events(deps)[-1] is AuditKind.LOGIN_SUCCEEDED


async def test_unknown_email_and_wrong_password_fail_alike_and_both_run_a_verify() -> None:
    hasher = FakeHasher()
    deps = await ready(make_deps(hasher=hasher))
    with pytest.raises(InvalidCredentials) as unknown:
        await log_in(deps, email="nobody@example.com")
    with pytest.raises(InvalidCredentials) as wrong:
        await log_in(deps, password="not it at all")
    assert str(unknown.value) == str(wrong.value) == "email or password is incorrect"
    assert hasher.verified == [hasher.dummy_hash, "v1:" + PASSWORD]
    assert events(deps)[-2:] == [AuditKind.LOGIN_FAILED, AuditKind.LOGIN_FAILED]


async def test_a_hash_made_with_old_parameters_is_replaced_at_log_in() -> None:
    uow = InMemoryUnitOfWork()
    await ready(make_deps(uow=uow, hasher=FakeHasher(version=1)))
    await log_in(make_deps(uow=uow, hasher=FakeHasher(version=2)))
    assert [u.password_hash for u in uow.store.users.values()] == ["v2:" + PASSWORD]


async def test_the_account_locks_after_max_failures_even_for_the_right_password() -> None:
    clock = Clock()
    deps = await ready(make_deps(clock=clock, account_max=3))
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            await log_in(deps, password="wrong wrong wrong")
    with pytest.raises(TooManyAttempts) as locked:
        await log_in(deps)
    assert locked.value.retry_after == 60
    assert events(deps).count(AuditKind.LOCKOUT) == 1
    clock.advance(60)
    await log_in(deps)  # the lock is over; success clears the account's failures
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await log_in(deps, password="wrong wrong wrong")


async def test_unknown_accounts_lock_too_so_locking_reveals_nothing() -> None:
    deps = await ready(make_deps(account_max=2))
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await log_in(deps, email="nobody@example.com")
    with pytest.raises(TooManyAttempts):
        await log_in(deps, email="nobody@example.com")


async def test_a_client_address_locks_after_failures_spread_over_many_accounts() -> None:
    deps = await ready(make_deps(account_max=100, client_max=4))
    for n in range(4):
        with pytest.raises(InvalidCredentials):
            await log_in(deps, email=f"user{n}@example.com", client="10.9.9.9")
    with pytest.raises(TooManyAttempts):
        await log_in(deps, client="10.9.9.9")
    await log_in(deps, client="10.0.0.2")  # another address is not affected


async def test_refresh_rotates_the_token_and_reuse_revokes_the_whole_family() -> None:
    deps = await ready(make_deps())
    first = await log_in(deps)
    second = await sessions.refresh(deps, refresh_token=first.refresh_token, client="c")
    assert second.refresh_token != first.refresh_token
    third = await sessions.refresh(deps, refresh_token=second.refresh_token, client="c")

    with pytest.raises(InvalidRefreshToken):  # a thief replays the first one
        await sessions.refresh(deps, refresh_token=first.refresh_token, client="c")
    with pytest.raises(InvalidRefreshToken):  # and the newest stops working as well
        await sessions.refresh(deps, refresh_token=third.refresh_token, client="c")
    assert AuditKind.REFRESH_REUSE_DETECTED in events(deps)


async def test_another_login_is_another_family_and_survives_a_revocation() -> None:
    deps = await ready(make_deps())
    phone, laptop = await log_in(deps), await log_in(deps)
    await sessions.log_out(deps, refresh_token=phone.refresh_token, client="c")
    with pytest.raises(InvalidRefreshToken):
        await sessions.refresh(deps, refresh_token=phone.refresh_token, client="c")
    await sessions.refresh(deps, refresh_token=laptop.refresh_token, client="c")


async def test_an_expired_or_unknown_refresh_token_is_refused() -> None:
    clock = Clock()
    deps = await ready(make_deps(clock=clock))
    pair = await log_in(deps)
    with pytest.raises(InvalidRefreshToken):
        await sessions.refresh(deps, refresh_token="made-up", client="c")
    clock.advance(30 * 86400)
    with pytest.raises(InvalidRefreshToken):
        await sessions.refresh(deps, refresh_token=pair.refresh_token, client="c")


async def test_logging_out_twice_or_with_an_unknown_token_is_harmless() -> None:
    deps = await ready(make_deps())
    pair = await log_in(deps)
    await sessions.log_out(deps, refresh_token=pair.refresh_token, client="c")
    await sessions.log_out(deps, refresh_token=pair.refresh_token, client="c")
    await sessions.log_out(deps, refresh_token="unknown", client="c")
    assert events(deps).count(AuditKind.LOGOUT) == 1
