"""What the orders use cases need from the outside, as protocols the adapters implement."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from chassis.db import UnitOfWork
from contracts import Message
from orders.domain.order import Order, OrderLine
from orders.domain.saga import Saga, Status

__all__ = ["CartReader", "CartSnapshot", "JournalEntry", "OrdersRepository", "OrdersUnitOfWork",
           "SagaMetrics", "SagaRecord"]


@dataclass(frozen=True, slots=True)
class CartSnapshot:
    user_id: str
    lines: tuple[OrderLine, ...]
    total_minor: int
    currency: str
    version: int


@dataclass(frozen=True, slots=True)
class SagaRecord:
    """A saga and the order facts its commands need."""

    saga: Saga
    user_id: str
    total_minor: int
    currency: str
    lines: tuple[OrderLine, ...]
    card_token: str
    created_at: float = 0.0
    trace_parent: str = ""
    cart_version: int | None = None  # the cart's version the order was taken from (None: older)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    step: str
    note: str
    at: float


class SagaMetrics(Protocol):
    """What the saga counts (business and operations), recorded after each commit."""

    def placed(self) -> None: ...

    def finished(self, *, confirmed: bool, reason: str, seconds: float, total_minor: int,
                 currency: str) -> None: ...

    def timed_out(self, step: str) -> None: ...

    def confirmed_by(self, step: str) -> None:
        """An order was confirmed by the reply to ``step``: ``authorize`` (captured on
        authorization) or ``capture`` (the two-step flow)."""
        ...

    def late_reply(self, kind: str) -> None:
        """A payment reply (``payment-authorized``, ``payment-captured``) came after the saga
        gave up on it; it was answered with its own void (refund)."""
        ...


class OrdersRepository(Protocol):
    """Orders, their sagas and what they publish, inside one transaction."""

    async def find_by_key(self, user_id: str, key: str) -> tuple[Order, str] | None:
        """The order placed with this idempotency key, and the hash of that request."""
        ...

    async def insert(self, order: Order, saga: Saga, *, idempotency_key: str, request_hash: str,
                     card_token: str, trace_parent: str, journal: JournalEntry,
                     cart_version: int | None = None) -> bool:
        """Store a new order with its saga's first journal entry; False (nothing stored) when
        an order with this user and key exists already, or an order of this user not CANCELLED
        was taken from the same ``cart_version`` (the version of the cart it was taken from,
        which its confirmation will carry; None: unknown, never a conflict)."""
        ...

    async def find_by_cart(self, user_id: str, cart_version: int) -> Order | None:
        """The order of this user, not CANCELLED, taken from this version of the cart."""
        ...

    async def load(self, order_id: str) -> SagaRecord | None: ...

    async def save(self, saga: Saga, *, now: float, journal: JournalEntry) -> bool:
        """Store the saga and its journal entry if nobody changed it since it was read (its
        version); False (nothing stored) if not."""
        ...

    async def journal(self, order_id: str, step: str, note: str, at: float) -> None: ...

    async def overdue(self, now: float, limit: int) -> list[SagaRecord]: ...

    async def get(self, order_id: str) -> Order | None: ...

    async def page_of_user(self, user_id: str, *, before: str | None,
                           limit: int) -> list[Order]:
        """The user's orders, newest first, older than the order id ``before``."""
        ...

    async def page(self, *, after: str | None, limit: int) -> list[Order]:
        """Every order, oldest first, newer than the order id ``after``."""
        ...

    async def statuses(self, order_ids: Sequence[str]) -> dict[str, Status]:
        """The saga status of each known order among ``order_ids`` (unknown ones are absent)."""
        ...

    async def journal_of(self, order_id: str) -> list[JournalEntry]: ...

    def publish(self, message: Message, *, msg_id: str, correlation_id: str) -> None: ...

    def after_commit(self, callback: Callable[[], None]) -> None: ...


OrdersUnitOfWork = UnitOfWork[OrdersRepository]


class CartReader(Protocol):
    async def priced_cart(self, user_id: str) -> CartSnapshot:
        """The user's cart with current prices; raises CartUnavailable."""
        ...
