"""The notifications HTTP API: your own mailbox, and every order's messages for operators."""

from __future__ import annotations

from typing import Annotated

from chassis.pagination import CursorCodec, CursorParam, InvalidCursor, Page
from chassis.web import ADMIN, USER, Principal, Query, Router
from notifications.entrypoints.schemas import MessageOut, OrderMessagesOut
from notifications.service import mailbox
from notifications.service.context import NotificationsContext

__all__ = ["router"]

router = Router(tags=["notifications"])

_MAILBOX_PAGES = CursorCodec("notifications.mailbox.v1")
_BY_ORDER_PAGES = CursorCodec("notifications.by-order.v1")


@router.get("/v1/notifications", auth=USER, raises=(InvalidCursor,))
async def list_notifications(
        user: Principal, notifications: NotificationsContext, cursor: CursorParam = None,
        limit: Annotated[int, Query(ge=1, le=mailbox.MAX_PAGE_SIZE)] = mailbox.DEFAULT_PAGE_SIZE,
) -> Page[MessageOut]:
    """Your messages, newest first."""
    before = str(_MAILBOX_PAGES.decode(cursor, (str,))[0]) if cursor is not None else None
    page = await mailbox.list_mailbox(notifications.uow, user.id, before_id=before, limit=limit)
    nxt = _MAILBOX_PAGES.encode([page.items[-1].id]) if page.more else None
    return Page([MessageOut.of(m) for m in page.items], nxt)


@router.get("/v1/admin/notifications", auth=ADMIN, raises=(InvalidCursor,),
            tags=["operations"])
async def list_notifications_by_order(
        notifications: NotificationsContext, cursor: CursorParam = None,
        limit: Annotated[int, Query(ge=1, le=mailbox.MAX_ADMIN_PAGE_SIZE)] =
        mailbox.MAX_ADMIN_PAGE_SIZE,
) -> Page[OrderMessagesOut]:
    """Which messages each order produced, by order id (for `souk verify`)."""
    after = str(_BY_ORDER_PAGES.decode(cursor, (str,))[0]) if cursor is not None else ""
    page = await mailbox.list_by_order(notifications.uow, after=after, limit=limit)
    nxt = _BY_ORDER_PAGES.encode([page.items[-1].order_id]) if page.more else None
    return Page([OrderMessagesOut.of(o) for o in page.items], nxt)
