"""Reading the audit log (service/audit.py): newest first, page after page."""

from __future__ import annotations

import pytest

from chassis.ids import new_id
from identity.domain.audit import AuditEvent, AuditKind
from identity.service import audit

from .conftest import T0, InMemoryUnitOfWork, make_context

pytestmark = pytest.mark.unit


async def test_pages_through_the_events_newest_first_without_gaps_or_repeats() -> None:
    uow = InMemoryUnitOfWork()
    ctx = make_context(uow=uow)
    # two events share a timestamp: the id orders them
    uow.store.audit = [AuditEvent(id=new_id(), at=T0.replace(second=n // 2),
                                  event=AuditKind.LOGIN_FAILED) for n in range(7)]
    seen: list[str] = []
    before, more, pages = None, True, 0
    while more:
        page, more = await audit.recent_events(ctx, 3, before=before)
        seen += [e.id for e in page]
        before, pages = (page[-1].at, page[-1].id), pages + 1
    expected = sorted(uow.store.audit, key=lambda e: (e.at, e.id), reverse=True)
    assert seen == [e.id for e in expected]
    assert pages == 3  # 3 + 3 + 1: the last page says nothing follows


async def test_a_last_page_that_is_full_says_nothing_follows() -> None:
    uow = InMemoryUnitOfWork()
    ctx = make_context(uow=uow)
    uow.store.audit = [AuditEvent(id=new_id(), at=T0.replace(second=n),
                                  event=AuditKind.LOGIN_FAILED) for n in range(6)]
    first, more = await audit.recent_events(ctx, 3)
    assert len(first) == 3 and more
    second, more = await audit.recent_events(ctx, 3, before=(first[-1].at, first[-1].id))
    assert len(second) == 3 and not more


async def test_refuses_a_page_size_out_of_range() -> None:
    for limit in (0, audit.MAX_AUDIT_PAGE + 1):
        with pytest.raises(ValueError, match="limit"):
            await audit.recent_events(make_context(), limit)
