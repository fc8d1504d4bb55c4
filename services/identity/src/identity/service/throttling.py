"""Where login throttling meets storage: check both keys before a login, count a failure after.

Counters live in identity's database, so every identity instance sees the same failures.
"""

from __future__ import annotations

from datetime import datetime

from chassis.ids import new_id
from identity.domain.audit import AuditEvent, AuditKind
from identity.domain.errors import TooManyAttempts
from identity.domain.throttle import ThrottlePolicy, retry_after
from identity.service.context import IdentityContext
from identity.service.ports import IdentityRepository

__all__ = ["ACCOUNT", "CLIENT", "check_login_allowed", "record_login_failure"]

ACCOUNT = "account"
CLIENT = "client"


def _scopes(ctx: IdentityContext, email: str, client: str) -> list[tuple[str, str, ThrottlePolicy]]:
    return [(ACCOUNT, email, ctx.account_throttle), (CLIENT, client, ctx.client_throttle)]


async def check_login_allowed(repo: IdentityRepository, ctx: IdentityContext, *, email: str,
                              client: str, now: datetime) -> None:
    """Raise ``TooManyAttempts`` when the account or the client is locked out."""
    waits = []
    for scope, key, policy in _scopes(ctx, email, client):
        failures = await repo.login_failures(scope, key, policy.window_start(now))
        if (wait := retry_after(failures, policy, now)) is not None:
            waits.append(wait)
    if waits:
        raise TooManyAttempts(max(waits))


async def record_login_failure(repo: IdentityRepository, ctx: IdentityContext, *, email: str,
                               client: str, now: datetime, user_id: str | None) -> None:
    """Count the failure against both keys; audit it, and audit a lockout when this failure
    is the one that locks a key."""
    longest = max(ctx.account_throttle.window, ctx.client_throttle.window)
    await repo.prune_login_failures(now - longest)
    await repo.add_audit_event(AuditEvent(id=new_id(), at=now, event=AuditKind.LOGIN_FAILED,
                                          user_id=user_id, email=email, client=client))
    for scope, key, policy in _scopes(ctx, email, client):
        await repo.add_login_failure(scope, key, now)
        failures = await repo.login_failures(scope, key, policy.window_start(now))
        if failures.count >= policy.max_failures:  # this failure (re)locks the key
            await repo.add_audit_event(AuditEvent(
                id=new_id(), at=now, event=AuditKind.LOCKOUT, user_id=user_id, email=email,
                client=client, detail={"scope": scope,
                                       "seconds": int(policy.lockout.total_seconds())}))
