"""In-memory stand-ins for the ports, keeping their contracts, for use-case tests without I/O."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts import Message
from payments.domain.errors import ConcurrencyConflict
from payments.domain.events import PaymentEvent
from payments.domain.payment import Decision, Status
from payments.service.ports import (
    AuthorizationRequest,
    Lease,
    ListingKey,
    PaymentSummary,
    StoredEvent,
    Stream,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
LEASE = Lease("payments-1", 60.0)


@dataclass
class Published:
    message: Message
    msg_id: str
    correlation_id: str | None


@dataclass
class Store:
    streams: dict[str, list[StoredEvent]] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)
    claims: dict[str, tuple[str, float]] = field(default_factory=dict)  # order -> (owner, until)

    def events(self, order_id: str) -> list[PaymentEvent]:
        return [s.event for s in self.streams.get(order_id, [])]

    def stream(self, order_id: str) -> Stream:
        return Stream(order_id, tuple(self.streams.get(order_id, [])))

    def messages(self) -> list[Message]:
        return [p.message for p in self.published]


class InMemoryPayments:
    """A PaymentsRepository over a Store, inside one FakeUnitOfWork transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.outgoing: list[Published] = []
        self.callbacks: list[Callable[[], None]] = []

    async def load(self, order_id: str) -> Stream:
        return self._store.stream(order_id)

    def will_load(self, order_ids: Collection[str]) -> None:
        pass  # nothing to read ahead in memory

    async def append(self, stream: Stream, events: Sequence[PaymentEvent], *,
                     claim: tuple[Lease, float] | None = None) -> Stream:
        current = self._store.streams.setdefault(stream.order_id, [])
        if len(current) != stream.version:
            raise ConcurrencyConflict(stream.order_id)
        current.extend(StoredEvent(len(current) + i, e, T0) for i, e in enumerate(events, 1))
        if claim is not None:
            lease, now = claim
            self._store.claims[stream.order_id] = (lease.owner, now + lease.seconds)
        return self._store.stream(stream.order_id)

    async def claim(self, order_id: str, lease: Lease, now: float) -> bool:
        if self._store.stream(order_id).payment.status is not Status.PENDING:
            return False
        owner, until = self._store.claims.get(order_id, ("", 0.0))
        if owner not in ("", lease.owner) and until > now:
            return False
        self._store.claims[order_id] = (lease.owner, now + lease.seconds)
        return True

    async def claim_pending(self, lease: Lease, now: float, limit: int) -> list[str]:
        return [o for o in list(self._store.streams) if await self.claim(o, lease, now)][:limit]

    async def for_user(self, user_id: str, limit: int,
                       before: ListingKey | None) -> list[PaymentSummary]:
        return []

    async def all_after(self, after: str | None, limit: int) -> list[PaymentSummary]:
        return []

    def publish(self, message: Message, *, msg_id: str,
                correlation_id: str | None = None) -> None:
        self.outgoing.append(Published(message, msg_id, correlation_id))

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)


class FakeUnitOfWork:
    """On commit what was published is kept and the after-commit callbacks run; a transaction
    that raises leaves the streams as they were and publishes nothing."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.transactions = 0

    @asynccontextmanager
    async def __call__(self, *, readonly: bool = False) -> AsyncIterator[InMemoryPayments]:
        self.transactions += 1
        before = {order_id: list(events) for order_id, events in self.store.streams.items()}
        repo = InMemoryPayments(self.store)
        try:
            yield repo
        except BaseException:
            self.store.streams = before
            raise
        self.store.published.extend(repo.outgoing)
        for callback in repo.callbacks:
            callback()


class RecordingMetrics:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.latencies: list[float] = []

    def authorization(self, outcome: str) -> None:
        self.counts[f"authorization.{outcome}"] += 1

    def captured(self) -> None:
        self.counts["captured"] += 1

    def voided(self) -> None:
        self.counts["voided"] += 1

    def refunded(self) -> None:
        self.counts["refunded"] += 1

    def processor_latency(self, seconds: float) -> None:
        self.latencies.append(seconds)


class ScriptedProcessor:
    """Answers at once for kinds in ``inline``; otherwise ``authorize`` waits until released.
    ``asked`` records every call."""

    def __init__(self, inline: dict[str, Decision] | None = None,
                 later: Decision = Decision.approve()) -> None:
        self.inline = inline if inline is not None else {
            "visa": Decision.approve(), "decline": Decision.decline("card-declined"),
            "unknown": Decision.decline("invalid-token")}
        self.later = later
        self.release = asyncio.Event()
        self.asked: list[AuthorizationRequest] = []

    async def authorize(self, request: AuthorizationRequest) -> Decision:
        self.asked.append(request)
        if (now := self.inline.get(request.card_token_kind)) is not None:
            return now
        await self.release.wait()
        return self.later
