"""The payments HTTP API under ``/v1`` (the gateway serves it as ``/api/v1/payments/…``): a
user's own payments, and the admin listing ``souk verify`` reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from chassis.pagination import CursorCodec, CursorParam, InvalidCursor, Page
from chassis.web import ADMIN, USER, Path, Principal, Query, Router
from payments.domain.errors import PaymentNotFound
from payments.entrypoints.schemas import AdminPaymentOut, PaymentOut, PaymentSummaryOut
from payments.service import queries
from payments.service.context import PaymentsContext
from payments.service.ports import ListingKey

__all__ = ["router"]

router = Router(tags=["payments"])

_OWN_PAGES = CursorCodec("payments.own.v1")
_ALL_PAGES = CursorCodec("payments.all.v1")
OrderId = Annotated[str, Path(max_length=100)]


def _before(cursor: str | None) -> ListingKey | None:
    if not cursor:
        return None
    created_at, order_id = _OWN_PAGES.decode(cursor, (datetime, str))
    return ListingKey(created_at, order_id)


@router.get("/v1/payments", auth=USER, raises=(InvalidCursor,))
async def list_payments(user: Principal, payments: PaymentsContext, cursor: CursorParam = None,
                        limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] =
                        queries.DEFAULT_PAGE_SIZE) -> Page[PaymentSummaryOut]:
    """Your payments, newest first."""
    found = await queries.list_payments(payments.uow, user.id, limit=limit,
                                        before=_before(cursor))
    last = found.items[-1] if found.more else None
    nxt = None if last is None else _OWN_PAGES.encode([last.created_at.isoformat(),
                                                       last.order_id])
    return Page([PaymentSummaryOut.of(s) for s in found.items], nxt)


@router.get("/v1/payments/{order_id}", auth=USER, raises=(PaymentNotFound,))
async def get_payment(order_id: OrderId, user: Principal, payments: PaymentsContext) -> PaymentOut:
    """One of your payments, with its event history."""
    return PaymentOut.of(await queries.get_payment(payments.uow, user.id, order_id))


@router.get("/v1/admin/payments", auth=ADMIN, raises=(InvalidCursor,), tags=["operations"])
async def admin_payments(payments: PaymentsContext, cursor: CursorParam = None,
                         limit: Annotated[int, Query(ge=1, le=queries.MAX_ADMIN_PAGE)] =
                         queries.DEFAULT_ADMIN_PAGE) -> Page[AdminPaymentOut]:
    """Every payment by order id, with its net charge (for `souk verify`)."""
    after = str(_ALL_PAGES.decode(cursor, (str,))[0]) if cursor else None
    found = await queries.admin_payments(payments.uow, after=after, limit=limit)
    nxt = _ALL_PAGES.encode([found.items[-1].order_id]) if found.more else None
    return Page([AdminPaymentOut.of(s) for s in found.items], nxt)
