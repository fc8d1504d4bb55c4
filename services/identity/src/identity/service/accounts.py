"""Accounts: sign up, the bootstrap admin, and a user's own profile."""

from __future__ import annotations

from chassis.ids import new_id
from identity.domain.accounts import Role, User, check_password_policy, validate_email
from identity.domain.audit import AuditEvent, AuditKind
from identity.domain.errors import EmailTaken, InvalidCredentials
from identity.service.context import IdentityContext

__all__ = ["ensure_admin", "profile", "sign_up"]


async def _create_user(ctx: IdentityContext, email: str, password: str, role: Role) -> User | None:
    email = validate_email(email)
    check_password_policy(password, ctx.common_passwords)
    password_hash = await ctx.hasher.hash(password)
    user = User(id=new_id(), email=email, password_hash=password_hash, role=role,
                created_at=ctx.clock())
    async with ctx.uow() as repo:
        if not await repo.add_user_if_absent(user):
            return None
        await repo.add_audit_event(AuditEvent(id=new_id(), at=user.created_at,
                                              event=AuditKind.SIGNUP, user_id=user.id,
                                              email=user.email, detail={"role": role.value}))
        if role is not Role.CUSTOMER:
            await repo.add_audit_event(AuditEvent(
                id=new_id(), at=user.created_at, event=AuditKind.ROLE_GRANTED, user_id=user.id,
                email=user.email, detail={"role": role.value, "by": "bootstrap"}))
    return user


async def sign_up(ctx: IdentityContext, *, email: str, password: str) -> User:
    """A new customer. The role is not the caller's to choose: every sign-up is a customer."""
    user = await _create_user(ctx, email, password, Role.CUSTOMER)
    if user is None:
        raise EmailTaken("an account with this email already exists")
    return user


async def ensure_admin(ctx: IdentityContext, *, email: str, password: str) -> bool:
    """Create the bootstrap admin unless the email has an account; True if created. An
    existing account keeps its role: start-up configuration never escalates anyone."""
    return await _create_user(ctx, email, password, Role.ADMIN) is not None


async def profile(ctx: IdentityContext, user_id: str) -> User:
    """The caller's own account (the id comes from their verified token, never the request)."""
    async with ctx.uow(readonly=True) as repo:
        user = await repo.user_by_id(user_id)
    if user is None:  # deleted after the token was issued
        raise InvalidCredentials()
    return user
