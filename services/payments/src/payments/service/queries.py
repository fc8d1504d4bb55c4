"""Read use cases: a user's own payments, and the admin listing ``souk verify`` reads."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from payments.domain.cursor import ListingKey, decode_cursor, encode_cursor
from payments.domain.errors import PaymentNotFound
from payments.service.ports import PaymentLedger, PaymentListing, PaymentSummary, Stream

__all__ = ["DEFAULT_ADMIN_PAGE", "DEFAULT_PAGE_SIZE", "MAX_ADMIN_PAGE", "MAX_PAGE_SIZE",
           "AdminPage", "Reads", "UserPage", "admin_payments", "get_payment", "list_payments"]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
DEFAULT_ADMIN_PAGE = 100
MAX_ADMIN_PAGE = 1000


class Reads(PaymentLedger, PaymentListing, Protocol):
    """A read-only transaction's view: streams and listings."""


ReadFactory = Callable[[], AbstractAsyncContextManager[Reads]]


@dataclass(frozen=True, slots=True)
class UserPage:
    items: list[PaymentSummary]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class AdminPage:
    items: list[PaymentSummary]
    next: str | None


async def get_payment(reads: ReadFactory, user_id: str, order_id: str) -> Stream:
    """The caller's payment for this order; another user's is not found, like a missing one."""
    async with reads() as store:
        stream = await store.load(order_id)
    if not stream.events or stream.payment.user_id != user_id:
        raise PaymentNotFound("no payment of yours has this order id")
    return stream


async def list_payments(reads: ReadFactory, user_id: str, *, limit: int = DEFAULT_PAGE_SIZE,
                        cursor: str | None = None) -> UserPage:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    before = decode_cursor(cursor) if cursor is not None else None
    async with reads() as store:
        found = await store.for_user(user_id, limit + 1, before)
    items = found[:limit]
    more = len(found) > limit
    last = items[-1] if items else None
    return UserPage(items, encode_cursor(ListingKey(last.created_at, last.order_id))
                    if more and last is not None else None)


async def admin_payments(reads: ReadFactory, *, after: str | None = None,
                         limit: int = DEFAULT_ADMIN_PAGE) -> AdminPage:
    if not 1 <= limit <= MAX_ADMIN_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_ADMIN_PAGE}")
    async with reads() as store:
        found = await store.all_after(after, limit + 1)
    items = found[:limit]
    return AdminPage(items, items[-1].order_id if len(found) > limit else None)
