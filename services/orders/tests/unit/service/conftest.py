"""In-memory stand-ins for what the orders use cases need (no sockets, no files)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

import pytest

from contracts import Message
from orders.domain.order import Order, OrderLine
from orders.domain.saga import Saga, Status, Step
from orders.service.notices import StatusNotices
from orders.service.ports import CartSnapshot, JournalEntry, SagaRecord
from orders.service.saga_runner import SagaRunner

DEADLINES = {Step.RESERVE: 15.0, Step.AUTHORIZE: 5.0, Step.CAPTURE: 10.0, Step.VOID: 5.0,
             Step.RELEASE: 5.0}
LAMP = OrderLine(sku="HOM-001", quantity=2, unit_price_minor=1250, name="Lamp")


@dataclass
class Stored:
    order: Order
    record: SagaRecord
    key: str
    request_hash: str


@dataclass
class State:
    orders: dict[str, Stored] = field(default_factory=dict)
    journal: list[tuple[str, str, str]] = field(default_factory=list)
    published: list[tuple[Message, str]] = field(default_factory=list)


class FakeOrders:
    """An OrdersRepository over a State, inside a FakeUnitOfWork's transaction."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.callbacks: list[Callable[[], None]] = []

    async def find_by_key(self, user_id: str, key: str) -> tuple[Order, str] | None:
        for s in self.state.orders.values():
            if s.order.user_id == user_id and s.key == key:
                return s.order, s.request_hash
        return None

    async def find_by_cart(self, user_id: str, cart_version: int) -> Order | None:
        for s in self.state.orders.values():
            if (s.order.user_id == user_id and s.record.cart_version == cart_version
                    and s.order.status != Status.CANCELLED):
                return s.order
        return None

    async def insert(self, order: Order, saga: Saga, *, idempotency_key: str, request_hash: str,
                     card_token: str, trace_parent: str, journal: JournalEntry,
                     cart_version: int | None = None) -> bool:
        if await self.find_by_key(order.user_id, idempotency_key) is not None:
            return False
        if cart_version is not None and await self.find_by_cart(order.user_id,
                                                                cart_version) is not None:
            return False
        await self.journal(order.id, journal.step, journal.note, journal.at)
        record = SagaRecord(saga=saga, user_id=order.user_id, total_minor=order.total_minor,
                            currency=order.currency, lines=order.lines, card_token=card_token,
                            created_at=order.created_at, trace_parent=trace_parent,
                            cart_version=cart_version)
        self.state.orders[order.id] = Stored(order, record, idempotency_key, request_hash)
        return True

    async def load(self, order_id: str) -> SagaRecord | None:
        stored = self.state.orders.get(order_id)
        return None if stored is None else stored.record

    async def save(self, saga: Saga, *, now: float, journal: JournalEntry) -> bool:
        stored = self.state.orders[saga.order_id]
        if stored.record.saga.version != saga.version:
            return False
        await self.journal(saga.order_id, journal.step, journal.note, journal.at)
        new = replace(saga, version=saga.version + 1)
        stored.record = replace(stored.record, saga=new)
        stored.order = replace(stored.order, status=new.status, reason=new.reason,
                               updated_at=now)
        return True

    async def journal(self, order_id: str, step: str, note: str, at: float) -> None:
        self.state.journal.append((order_id, step, note))

    async def overdue(self, now: float, limit: int) -> list[SagaRecord]:
        due = [s.record for s in self.state.orders.values()
               if s.record.saga.deadline_at is not None and s.record.saga.deadline_at < now]
        return sorted(due, key=lambda r: r.saga.deadline_at or 0.0)[:limit]

    async def get(self, order_id: str) -> Order | None:
        stored = self.state.orders.get(order_id)
        return None if stored is None else stored.order

    async def page_of_user(self, user_id: str, *, before: str | None,
                           limit: int) -> list[Order]:
        return []

    async def page(self, *, after: str | None, limit: int) -> list[Order]:
        return []

    async def journal_of(self, order_id: str) -> list[JournalEntry]:
        return [JournalEntry(step, note, 0.0) for o, step, note in self.state.journal
                if o == order_id]

    def publish(self, message: Message, *, msg_id: str, correlation_id: str) -> None:
        self.state.published.append((message, msg_id))

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)


class FakeUnitOfWork:
    """Commits by keeping the changes, rolls back on an exception; counts transactions."""

    def __init__(self) -> None:
        self.state = State()
        self.transactions = 0

    @asynccontextmanager
    async def __call__(self, *, readonly: bool = False) -> AsyncIterator[FakeOrders]:
        self.transactions += 1
        before = copy.deepcopy(self.state)
        repo = FakeOrders(self.state)
        try:
            yield repo
        except BaseException:
            self.state.__dict__.update(before.__dict__)
            raise
        for callback in repo.callbacks:
            callback()


class FakeCarts:
    def __init__(self) -> None:
        self.lines: dict[str, tuple[OrderLine, ...]] = {}
        # a version pinned per user; else every read is of a cart filled anew (a new version),
        # so one test can check out one user's cart more than once
        self.versions: dict[str, int] = {}
        self._filled = itertools.count(1001)
        self.reads = 0

    async def priced_cart(self, user_id: str) -> CartSnapshot:
        self.reads += 1
        lines = self.lines.get(user_id, ())
        return CartSnapshot(user_id=user_id, lines=lines,
                            total_minor=sum(x.total_minor for x in lines), currency="EUR",
                            version=self.versions.get(user_id) or next(self._filled))


class FakeMetrics:
    def __init__(self) -> None:
        self.events: list[str] = []

    def placed(self) -> None:
        self.events.append("placed")

    def finished(self, *, confirmed: bool, reason: str, seconds: float, total_minor: int,
                 currency: str) -> None:
        self.events.append("confirmed" if confirmed else f"cancelled:{reason}")

    def timed_out(self, step: str) -> None:
        self.events.append(f"timeout:{step}")

    def confirmed_by(self, step: str) -> None:
        self.events.append(f"confirmed-by:{step}")

    def late_reply(self, kind: str) -> None:
        self.events.append(f"late:{kind}")


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def carts() -> FakeCarts:
    return FakeCarts()


@pytest.fixture
def metrics() -> FakeMetrics:
    return FakeMetrics()


@pytest.fixture
def runner(metrics: FakeMetrics) -> SagaRunner:
    return SagaRunner(StatusNotices(), DEADLINES, metrics)
