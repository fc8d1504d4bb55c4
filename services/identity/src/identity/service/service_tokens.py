"""Service identity: a service trades its secret for a short-lived service token."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from chassis.ids import new_id
from identity.domain.audit import AuditEvent, AuditKind
from identity.domain.errors import InvalidServiceCredentials
from identity.domain.tokens import service_claims, service_subject
from identity.service import signing
from identity.service.context import IdentityContext

__all__ = ["ServiceToken", "issue_service_token"]

# compared against when the service is unknown, so that path does the same work
_NO_SUCH_SERVICE = hashlib.sha256(b"no such service").hexdigest()


@dataclass(frozen=True, slots=True)
class ServiceToken:
    access_token: str
    expires_in: int


async def issue_service_token(ctx: IdentityContext, *, service: str, secret: str,
                              client: str) -> ServiceToken:
    """A service token for ``service`` when ``secret`` is its credential (every issue is
    audited: a service asks about once per token lifetime per instance, so volume stays low)."""
    expected = ctx.service_credentials.get(service)
    presented = hashlib.sha256(secret.encode()).hexdigest()
    matches = hmac.compare_digest(presented, expected or _NO_SUCH_SERVICE)
    now = ctx.clock()
    granted = expected is not None and matches
    async with ctx.uow() as repo:
        await repo.add_audit_event(AuditEvent(
            id=new_id(), at=now, client=client, user_id=service_subject(service)[:100],
            event=AuditKind.SERVICE_TOKEN_ISSUED if granted else AuditKind.SERVICE_TOKEN_DENIED))
    if not granted:
        raise InvalidServiceCredentials()
    claims = service_claims(ctx.tokens, service=service, now=int(now.timestamp()),
                            token_id=new_id())
    return ServiceToken(await signing.sign(ctx, claims), ctx.tokens.service_ttl)
