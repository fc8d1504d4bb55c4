"""Sessions: log in, refresh (rotating the refresh token), log out."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from chassis.ids import new_id
from identity.domain.accounts import User, validate_email
from identity.domain.audit import AuditEvent, AuditKind
from identity.domain.errors import InvalidCredentials, InvalidEmail, InvalidRefreshToken
from identity.domain.refresh import RefreshToken, RefreshVerdict, judge_refresh_token
from identity.domain.tokens import access_claims
from identity.service import signing
from identity.service.context import IdentityContext
from identity.service.ports import IdentityRepository
from identity.service.throttling import ACCOUNT, check_login_allowed, record_login_failure

__all__ = ["TokenPair", "hash_refresh_token", "log_in", "log_out", "refresh"]


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str


def hash_refresh_token(token: str) -> str:
    """SHA-256 is enough here (no argon2): the token is 256 random bits, not a guessable secret."""
    return hashlib.sha256(token.encode()).hexdigest()


async def log_in(ctx: IdentityContext, *, email: str, password: str, client: str) -> TokenPair:
    """Tokens for the right email and password. Unknown email and wrong password fail alike:
    same error, and the same argon2 work (against a dummy hash), so neither the answer nor its
    timing tells whether the account exists. An address sign-up would refuse has no account
    (every account was made through ``validate_email``): refused at once, never looked up
    (PostgreSQL cannot even compare a NUL) nor counted against an account."""
    try:
        email = validate_email(email)
    except InvalidEmail:
        raise InvalidCredentials() from None
    async with ctx.uow(readonly=True) as repo:
        await check_login_allowed(repo, ctx, email=email, client=client, now=ctx.clock())
        user = await repo.user_by_email(email)
    # argon2 runs between transactions: it takes tens of milliseconds and must not hold a lock
    matches = await ctx.hasher.verify(user.password_hash if user else ctx.hasher.dummy_hash,
                                       password)
    if user is None or not matches:
        async with ctx.uow() as repo:
            await record_login_failure(repo, ctx, email=email, client=client, now=ctx.clock(),
                                       user_id=user.id if user else None)
        raise InvalidCredentials()
    new_hash = await ctx.hasher.hash(password) if ctx.hasher.needs_rehash(user.password_hash) \
        else None
    now = ctx.clock()
    async with ctx.uow() as repo:
        await repo.clear_login_failures(ACCOUNT, email)
        if new_hash is not None:
            await repo.set_password_hash(user.id, new_hash)
        refresh_token = await _issue_refresh_token(repo, ctx, user.id, new_id(), now)
        await repo.add_audit_event(AuditEvent(
            id=new_id(), at=now, event=AuditKind.LOGIN_SUCCEEDED, user_id=user.id, email=email,
            client=client, detail={"rehashed": new_hash is not None}))
    return await _pair(ctx, user, refresh_token, now)


async def refresh(ctx: IdentityContext, *, refresh_token: str, client: str) -> TokenPair:
    """A new access token and a new refresh token; the presented one is spent. Presenting a
    spent one revokes its whole family."""
    now = ctx.clock()
    reused = False
    async with ctx.uow() as repo:
        stored = await repo.refresh_token_by_hash(hash_refresh_token(refresh_token))
        if stored is None:
            raise InvalidRefreshToken()
        verdict = judge_refresh_token(stored, now)
        if verdict is RefreshVerdict.VALID and not await repo.mark_refresh_token_used(stored.id, now):
            verdict = RefreshVerdict.REUSED  # a concurrent request spent it a moment ago
        if verdict is RefreshVerdict.REUSED:
            await repo.revoke_refresh_family(stored.family_id, now)
            await repo.add_audit_event(AuditEvent(
                id=new_id(), at=now, event=AuditKind.REFRESH_REUSE_DETECTED,
                user_id=stored.user_id, client=client, detail={"family_id": stored.family_id}))
            reused = True
        user = await repo.user_by_id(stored.user_id) if verdict is RefreshVerdict.VALID else None
        new_token = (await _issue_refresh_token(repo, ctx, user.id, stored.family_id, now)
                     if user is not None else None)
    # raised after the block so the revocation above commits instead of rolling back
    if reused or user is None or new_token is None:
        raise InvalidRefreshToken()
    return await _pair(ctx, user, new_token, now)


async def log_out(ctx: IdentityContext, *, refresh_token: str, client: str) -> None:
    """Revoke the refresh token's family. Unknown tokens are ignored: logging out twice is fine."""
    now = ctx.clock()
    async with ctx.uow() as repo:
        stored = await repo.refresh_token_by_hash(hash_refresh_token(refresh_token))
        if stored is None or stored.revoked_at is not None:
            return
        await repo.revoke_refresh_family(stored.family_id, now)
        await repo.add_audit_event(AuditEvent(
            id=new_id(), at=now, event=AuditKind.LOGOUT, user_id=stored.user_id, client=client,
            detail={"family_id": stored.family_id}))


async def _issue_refresh_token(repo: IdentityRepository, ctx: IdentityContext, user_id: str,
                               family_id: str, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    await repo.add_refresh_token(RefreshToken(
        id=new_id(), family_id=family_id, user_id=user_id, token_hash=hash_refresh_token(token),
        issued_at=now, expires_at=now + timedelta(seconds=ctx.tokens.refresh_ttl)))
    return token


async def _pair(ctx: IdentityContext, user: User, refresh_token: str, now: datetime) -> TokenPair:
    claims = access_claims(ctx.tokens, user_id=user.id, roles=user.roles,
                           now=int(now.timestamp()), token_id=new_id())
    return TokenPair(access_token=await signing.sign(ctx, claims),
                     expires_in=ctx.tokens.access_ttl, refresh_token=refresh_token)
