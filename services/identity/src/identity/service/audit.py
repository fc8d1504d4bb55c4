"""Reading the audit log (admins only: the route says so)."""

from __future__ import annotations

from datetime import datetime

from identity.domain.audit import AuditEvent
from identity.service.context import IdentityContext

__all__ = ["MAX_AUDIT_PAGE", "recent_events"]

MAX_AUDIT_PAGE = 500


async def recent_events(ctx: IdentityContext, limit: int = 100, *,
                        before: tuple[datetime, str] | None = None) -> list[AuditEvent]:
    """Up to ``limit`` events, newest first, older than ``before`` (the time and id of the last
    event of the previous page)."""
    if not 1 <= limit <= MAX_AUDIT_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_AUDIT_PAGE}")
    async with ctx.uow(readonly=True) as repo:
        return await repo.audit_events(before=before, limit=limit)
