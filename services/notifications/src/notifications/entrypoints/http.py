"""The notifications HTTP API under ``/v1`` (the gateway serves ``/api/v1/notifications``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from chassis.auth import CurrentUser, Principal, require_role
from chassis.deps import DatabaseDep
from chassis.openapi import problem_responses
from notifications.adapters.sql import SqlUnitOfWork
from notifications.entrypoints.schemas import (
    MessageOut,
    MessagePageOut,
    OrderMessagesOut,
    OrderMessagesPageOut,
)
from notifications.service import mailbox
from notifications.service.ports import UnitOfWork

__all__ = ["router"]


async def get_unit_of_work(db: DatabaseDep) -> UnitOfWork:
    return SqlUnitOfWork(db)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
Admin = Annotated[Principal, Depends(require_role("admin"))]

router = APIRouter(prefix="/v1", tags=["notifications"])


@router.get("/notifications", responses=problem_responses({
    400: "invalid limit (validation-error) or cursor (notifications/invalid-cursor)",
    401: "no valid bearer token"}))
async def list_notifications(
    user: CurrentUser,
    uow: UnitOfWorkDep,
    limit: Annotated[int, Query(ge=1, le=mailbox.MAX_PAGE_SIZE)] = mailbox.DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> MessagePageOut:
    """The caller's own messages, newest first."""
    page = await mailbox.list_mailbox(uow, user.id, limit=limit, cursor=cursor)
    return MessagePageOut(items=[MessageOut.of(m) for m in page.items],
                          next_cursor=page.next_cursor)


@router.get("/admin/notifications", responses=problem_responses({
    400: "invalid parameter (validation-error)", 401: "no valid bearer token",
    403: "the token lacks the admin role"}))
async def list_notifications_by_order(
    uow: UnitOfWorkDep,
    _: Admin,
    after: Annotated[str, Query(max_length=200, description="`next` of the previous page")] = "",
    limit: Annotated[int, Query(ge=1, le=mailbox.MAX_ADMIN_PAGE_SIZE)] =
        mailbox.MAX_ADMIN_PAGE_SIZE,
) -> OrderMessagesPageOut:
    """Which messages each order produced, by order id (for ``souk verify``; admin only)."""
    page = await mailbox.list_by_order(uow, after=after, limit=limit)
    return OrderMessagesPageOut(items=[OrderMessagesOut.of(o) for o in page.items],
                                next=page.next)
