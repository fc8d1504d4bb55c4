"""Reading the audit log (admins only: the route says so)."""

from __future__ import annotations

from datetime import datetime

from identity.domain.audit import AuditEvent
from identity.service.context import IdentityContext

__all__ = ["MAX_AUDIT_PAGE", "recent_events"]

MAX_AUDIT_PAGE = 500


async def recent_events(ctx: IdentityContext, limit: int = 100, *,
                        before: tuple[datetime, str] | None = None
                        ) -> tuple[list[AuditEvent], bool]:
    """Up to ``limit`` events, newest first, older than ``before`` (the time and id of the last
    event of the previous page), and whether older ones follow."""
    if not 1 <= limit <= MAX_AUDIT_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_AUDIT_PAGE}")
    async with ctx.uow(readonly=True) as repo:
        found = await repo.audit_events(before=before, limit=limit + 1)  # one more: a next page?
    return found[:limit], len(found) > limit
