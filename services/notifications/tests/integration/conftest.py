"""Notifications under test: the real app on uvicorn, a real nats-server, real SQLite/PostgreSQL
(the chassis's fixtures); orders' events published straight to JetStream as orders' relay would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
import pytest

from chassis.db import Database, SqlUnitOfWork
from chassis.messaging import subject_for
from chassis.testing import TestIssuer, connected_database
from chassis.testing.service import RunningService, start_service
from contracts import Event, PricedLine, encode
from contracts.orders import OrderCancelled, OrderConfirmed
from notifications.adapters.sql import SqlMailbox
from notifications.app import create_app
from notifications.domain.messages import Kind, OrderOutcome
from notifications.service import mailbox
from notifications.service.ports import MailboxUnitOfWork
from notifications.settings import NotificationsSettings

LINES = (PricedLine(sku="KIT-0001", quantity=2, unit_price_minor=1000, name="Knife"),)
NOW = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def confirmed(order_id: str, user_id: str = "alice") -> OrderConfirmed:
    return OrderConfirmed(order_id=order_id, user_id=user_id, lines=LINES, total_minor=2000,
                          currency="EUR", confirmed_at=NOW.timestamp())


def cancelled(order_id: str, user_id: str = "alice") -> OrderCancelled:
    return OrderCancelled(order_id=order_id, user_id=user_id, lines=LINES, total_minor=2000,
                          currency="EUR", reason="payment declined",
                          cancelled_at=NOW.timestamp())


def outcome(order_id: str, user_id: str = "alice",
            kind: Kind = Kind.ORDER_CONFIRMED) -> OrderOutcome:
    return OrderOutcome(kind, order_id, user_id, 1, 990, "EUR",
                        reason="declined" if kind is Kind.ORDER_CANCELLED else "")


def unit_of_work(db: Database) -> MailboxUnitOfWork:
    return SqlUnitOfWork(db.transaction, SqlMailbox)


async def seed(uow: MailboxUnitOfWork, *outcomes: OrderOutcome) -> list[bool]:
    """Deliver ``outcomes`` in one transaction, as the consumer would."""
    async with uow() as box:
        return [await mailbox.notify(box, o, NOW) for o in outcomes]


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The migrated, empty notifications database, connected."""
    async with connected_database(database_url, "notifications") as db:
        yield db


@dataclass
class Notifications(RunningService):
    nc: Any = None  # a NATS connection of the test's own

    @property
    def uow(self) -> MailboxUnitOfWork:
        """The running app's own unit of work (seeding without going through the broker)."""
        return SqlUnitOfWork(self.app.runtime.transaction, SqlMailbox)

    async def publish(self, event: Event, *, souk_id: str, nats_id: str | None = None) -> None:
        """Publish straight to JetStream, as orders' relay would."""
        await self.nc.jetstream().publish(
            subject_for(event), encode(event),
            headers={"Nats-Msg-Id": nats_id or souk_id, "Souk-Msg-Id": souk_id,
                     "Souk-Type": event.TYPE, "Souk-Correlation-Id": souk_id.split(".")[0]})

    async def by_order(self) -> dict[str, list[str]]:
        reply = await self.call("GET", "/v1/admin/notifications", roles=("admin",))
        assert reply.status == 200, reply.body
        return {item["order_id"]: item["kinds"] for item in reply.body["items"]}


@pytest.fixture
async def notifications(database_url: str, nats_url: str,
                        issuer: TestIssuer) -> AsyncIterator[Notifications]:
    """The real app under uvicorn on a free port, its consumer started."""
    app = create_app(NotificationsSettings(database_url=database_url, nats_url=nats_url,
                                           registry_url="", log_level="warning"))
    nc = await nats.connect(nats_url)
    try:
        async with start_service(app, issuer) as running:
            yield Notifications(running.app, running.url, running.http, running.issuer, nc)
    finally:
        await nc.close()
