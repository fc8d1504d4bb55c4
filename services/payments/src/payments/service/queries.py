"""Read use cases: a user's own payments, and the admin listing ``souk verify`` reads."""

from __future__ import annotations

from dataclasses import dataclass

from payments.domain.errors import PaymentNotFound
from payments.service.ports import ListingKey, PaymentSummary, PaymentsUnitOfWork, Stream

__all__ = ["DEFAULT_ADMIN_PAGE", "DEFAULT_PAGE_SIZE", "MAX_ADMIN_PAGE", "MAX_PAGE_SIZE",
           "Listing", "admin_payments", "get_payment", "list_payments"]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
DEFAULT_ADMIN_PAGE = 100
MAX_ADMIN_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of payments; ``more`` says whether another page follows."""

    items: list[PaymentSummary]
    more: bool


async def get_payment(uow: PaymentsUnitOfWork, user_id: str, order_id: str) -> Stream:
    """The caller's payment for this order; another user's is not found, like a missing one."""
    async with uow(readonly=True) as payments:
        stream = await payments.load(order_id)
    if not stream.events or stream.payment.user_id != user_id:
        raise PaymentNotFound("no payment of yours has this order id")
    return stream


async def list_payments(uow: PaymentsUnitOfWork, user_id: str, *,
                        limit: int = DEFAULT_PAGE_SIZE, before: ListingKey | None = None) -> Listing:
    """The caller's payments, newest first, strictly older than ``before``."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    async with uow(readonly=True) as payments:
        found = await payments.for_user(user_id, limit + 1, before)  # one more: is there more?
    return Listing(found[:limit], len(found) > limit)


async def admin_payments(uow: PaymentsUnitOfWork, *, after: str | None = None,
                         limit: int = DEFAULT_ADMIN_PAGE) -> Listing:
    """Every payment by order id, strictly after the order id ``after``."""
    if not 1 <= limit <= MAX_ADMIN_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_ADMIN_PAGE}")
    async with uow(readonly=True) as payments:
        found = await payments.all_after(after, limit + 1)
    return Listing(found[:limit], len(found) > limit)
