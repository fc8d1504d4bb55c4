"""Reading the audit log (admins only; the HTTP layer checks the role)."""

from __future__ import annotations

from identity.domain.audit import AuditEvent
from identity.service.ports import IdentityDeps

__all__ = ["MAX_AUDIT_PAGE", "recent_events"]

MAX_AUDIT_PAGE = 500


async def recent_events(deps: IdentityDeps, limit: int = 100) -> list[AuditEvent]:
    if not 1 <= limit <= MAX_AUDIT_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_AUDIT_PAGE}")
    async with deps.uow.transaction(readonly=True) as repo:
        return await repo.recent_audit_events(limit)
