"""What the use cases need from the outside: the event store and its listings (bound to one
transaction, which also publishes), the card processor and the metrics. ``payments.adapters``
implements them; the unit tests implement them in memory."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from chassis.db import UnitOfWork
from contracts import Message
from payments.domain.events import PaymentEvent
from payments.domain.payment import Decision, Payment, fold

__all__ = ["AuthorizationRequest", "CardProcessor", "Lease", "ListingKey", "PaymentMetrics",
           "PaymentSummary", "PaymentsRepository", "PaymentsUnitOfWork", "StoredEvent", "Stream"]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    version: int  # 1 for the first event of a stream
    event: PaymentEvent
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Stream:
    """One payment's events as read, and the state they fold to."""

    order_id: str
    events: tuple[StoredEvent, ...] = ()
    # folded once: commands and the projection read the state several times per message
    payment: Payment = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "payment", fold(self.order_id, (e.event for e in self.events)))

    @property
    def version(self) -> int:
        return len(self.events)


@dataclass(frozen=True, slots=True)
class PaymentSummary:
    """A row of the ``payments`` projection (kept in step with the stream, for listings)."""

    order_id: str
    user_id: str
    status: str
    amount_minor: int
    currency: str
    authorized_minor: int
    captured_minor: int
    refunded_minor: int
    captures: int
    created_at: datetime
    updated_at: datetime

    @property
    def net_minor(self) -> int:
        return self.captured_minor - self.refunded_minor


@dataclass(frozen=True, slots=True)
class ListingKey:
    """Where a payment sits in its owner's listing (newest first)."""

    created_at: datetime
    order_id: str


class PaymentsRepository(Protocol):
    """The event store, its listings and what is published, inside one transaction."""

    async def load(self, order_id: str) -> Stream:
        """Every event of the stream, oldest first (an empty stream if there is none)."""
        ...

    def will_load(self, order_ids: Collection[str]) -> None:
        """The streams this transaction is about to load, one after the other: they may be
        read together, at the first load."""
        ...

    async def append(self, stream: Stream, events: Sequence[PaymentEvent], *,
                     claim: tuple[Lease, float] | None = None) -> Stream:
        """Append after ``stream.version`` and update the projection in the same transaction;
        ``ConcurrencyConflict`` if another writer appended since ``stream`` was read. With
        ``claim`` (a lease and now), the payment the events leave pending is claimed for the
        lease's owner in the same write, whoever held it: for the payment this transaction just
        asked for."""
        ...

    async def claim(self, order_id: str, lease: Lease, now: float) -> bool:
        """Claim a pending payment for ``lease.owner`` until ``now + lease.seconds``: True if it
        is pending and was unclaimed, its claim expired, or it was the owner's already."""
        ...

    async def claim_pending(self, lease: Lease, now: float, limit: int) -> list[str]:
        """Claim up to ``limit`` pending payments as ``claim`` does, oldest first; their order
        ids (two claimants at once never get the same one)."""
        ...

    async def for_user(self, user_id: str, limit: int,
                       before: ListingKey | None) -> list[PaymentSummary]:
        """The user's payments, newest first, strictly older than ``before``."""
        ...

    async def all_after(self, after: str | None, limit: int) -> list[PaymentSummary]:
        """Every payment by order id, strictly after ``after``."""
        ...

    def publish(self, message: Message, *, msg_id: str,
                correlation_id: str | None = None) -> None:
        """Send ``message`` if and when this transaction commits (``correlation_id`` None: the
        one of the message being handled)."""
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this transaction has committed (never on a rollback)."""
        ...


PaymentsUnitOfWork = UnitOfWork[PaymentsRepository]


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """What the processor is asked; the card is known only by its kind."""

    order_id: str
    idempotency_key: str
    amount_minor: int
    currency: str
    card_token_kind: str


@dataclass(frozen=True, slots=True)
class Lease:
    """Who claims pending payments (one instance of payments) and for how many seconds: only
    the claimant asks the processor for them until the lease runs out."""

    owner: str
    seconds: float


class CardProcessor(Protocol):
    async def authorize(self, request: AuthorizationRequest) -> Decision:
        """Ask and wait for the answer. Idempotent: the same key gets the same answer."""
        ...


class PaymentMetrics(Protocol):
    def authorization(self, outcome: str) -> None: ...

    def captured(self) -> None: ...

    def voided(self) -> None: ...

    def refunded(self) -> None: ...

    def processor_latency(self, seconds: float) -> None: ...
