"""The payments HTTP API under ``/v1`` (the gateway serves it as ``/api/v1/payments/…``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from chassis.auth import CurrentUser, Principal, require_role
from chassis.deps import DatabaseDep
from chassis.openapi import problem_responses
from payments.adapters.sessions import read_sessions
from payments.entrypoints.schemas import (
    AdminPageOut,
    AdminPaymentOut,
    PaymentOut,
    PaymentPageOut,
    PaymentSummaryOut,
)
from payments.service import queries
from payments.service.queries import ReadFactory

__all__ = ["router"]


async def get_reads(db: DatabaseDep) -> ReadFactory:
    return read_sessions(db)


ReadsDep = Annotated[ReadFactory, Depends(get_reads)]
Admin = Annotated[Principal, Depends(require_role("admin"))]

router = APIRouter(prefix="/v1", tags=["payments"])


@router.get("/payments", responses=problem_responses(
    {400: "invalid parameter (validation-error) or cursor (payments/invalid-cursor)"}))
async def list_payments(
    user: CurrentUser, reads: ReadsDep,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = queries.DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> PaymentPageOut:
    """The caller's payments, newest first."""
    page = await queries.list_payments(reads, user.id, limit=limit, cursor=cursor)
    return PaymentPageOut(items=[PaymentSummaryOut.of(s) for s in page.items],
                          next_cursor=page.next_cursor)


@router.get("/payments/{order_id}", responses=problem_responses(
    {404: "no payment of yours for this order (payments/not-found)"}))
async def get_payment(order_id: str, user: CurrentUser, reads: ReadsDep) -> PaymentOut:
    """One of the caller's payments, with its event history."""
    return PaymentOut.of(await queries.get_payment(reads, user.id, order_id))


@router.get("/admin/payments", responses=problem_responses({403: "the token lacks the admin role"}))
async def admin_payments(
    _: Admin, reads: ReadsDep,
    after: Annotated[str | None, Query(min_length=1, max_length=100,
                                       description="the last order id of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_ADMIN_PAGE)] = queries.DEFAULT_ADMIN_PAGE,
) -> AdminPageOut:
    """Every payment by order id, with its net charge (for `souk verify`)."""
    page = await queries.admin_payments(reads, after=after, limit=limit)
    return AdminPageOut(items=[AdminPaymentOut.of(s) for s in page.items], next=page.next)
