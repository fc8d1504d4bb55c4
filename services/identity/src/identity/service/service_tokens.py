"""Service identity: a service trades its secret for a short-lived service token."""

from __future__ import annotations

from dataclasses import dataclass

from chassis.ids import new_id
from identity.domain.audit import AuditEvent, AuditKind
from identity.domain.errors import InvalidServiceCredentials
from identity.domain.tokens import service_claims, service_subject
from identity.service import signing
from identity.service.context import IdentityContext

__all__ = ["ServiceToken", "issue_service_token"]

@dataclass(frozen=True, slots=True)
class ServiceToken:
    access_token: str
    expires_in: int


async def issue_service_token(ctx: IdentityContext, *, service: str, secret: str,
                              client: str) -> ServiceToken:
    """A service token for ``service`` when ``secret`` is its credential (every issue is
    audited: a service asks about once per token lifetime per instance, so volume stays low)."""
    granted = ctx.service_credentials.check(service, secret)
    now = ctx.clock()
    async with ctx.uow() as repo:
        await repo.add_audit_event(AuditEvent(
            id=new_id(), at=now, client=client, user_id=service_subject(service)[:100],
            event=AuditKind.SERVICE_TOKEN_ISSUED if granted else AuditKind.SERVICE_TOKEN_DENIED))
    if not granted:
        raise InvalidServiceCredentials()
    claims = service_claims(ctx.tokens, service=service, now=int(now.timestamp()),
                            token_id=new_id())
    return ServiceToken(await signing.sign(ctx, claims), ctx.tokens.service_ttl)
