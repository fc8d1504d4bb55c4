"""Analytics under test: the real app on uvicorn, a real nats-server, real SQLite/PostgreSQL
(the chassis's fixtures); orders' events published straight to JetStream as orders' relay would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import nats
import pytest

from analytics.adapters.events import FACT_OF
from analytics.adapters.sql import SqlReadModels
from analytics.app import create_app
from analytics.service import projection
from analytics.service.ports import AnalyticsUnitOfWork
from analytics.settings import AnalyticsSettings
from chassis.db import Database, SqlUnitOfWork
from chassis.messaging import subject_for
from chassis.testing import TestIssuer, connected_database
from chassis.testing.service import RunningService, start_service
from contracts import Event, PricedLine, encode
from contracts.orders import OrderCancelled, OrderConfirmed, OrderPlaced

LINES = (PricedLine(sku="KIT-0001", quantity=2, unit_price_minor=1000, name="Knife"),
         PricedLine(sku="BOK-0002", quantity=1, unit_price_minor=2500, name="Book"))
TOTAL = 4500


def placed(order_id: str, currency: str = "EUR") -> OrderPlaced:
    return OrderPlaced(order_id=order_id, user_id="alice", lines=LINES, total_minor=TOTAL,
                       currency=currency, placed_at=100.0)


def confirmed(order_id: str, currency: str = "EUR") -> OrderConfirmed:
    return OrderConfirmed(order_id=order_id, user_id="alice", lines=LINES, total_minor=TOTAL,
                          currency=currency, confirmed_at=200.0)


def cancelled(order_id: str) -> OrderCancelled:
    return OrderCancelled(order_id=order_id, user_id="alice", lines=LINES, total_minor=TOTAL,
                          currency="EUR", reason="declined", cancelled_at=200.0)


def unit_of_work(db: Database) -> AnalyticsUnitOfWork:
    return SqlUnitOfWork(db.transaction, SqlReadModels)


async def project(uow: AnalyticsUnitOfWork, events: Iterable[Event]) -> None:
    """Project ``events`` in one transaction, as the consumer would."""
    async with uow() as models:
        for event in events:
            await projection.project(models, FACT_OF[type(event)](event))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The migrated, empty analytics database, connected."""
    async with connected_database(database_url, "analytics") as db:
        yield db


@dataclass
class Analytics(RunningService):
    nc: Any = None  # a NATS connection of the test's own

    @property
    def uow(self) -> AnalyticsUnitOfWork:
        """The running app's own unit of work (seeding without going through the broker)."""
        return SqlUnitOfWork(self.app.runtime.transaction, SqlReadModels)

    async def publish(self, *events: tuple[Event, str, str | None]) -> None:
        """Publish ``(event, Souk-Msg-Id, Nats-Msg-Id or None)`` straight to JetStream, in order,
        as orders' relay would."""
        js = self.nc.jetstream()
        for event, souk_id, nats_id in events:
            await js.publish(subject_for(event), encode(event), headers={
                "Nats-Msg-Id": nats_id or souk_id, "Souk-Msg-Id": souk_id,
                "Souk-Type": event.TYPE})

    async def summary(self) -> dict[str, Any]:
        reply = await self.call("GET", "/v1/analytics/summary", roles=("admin",))
        assert reply.status == 200, reply.body
        return reply.body  # type: ignore[no-any-return]


@pytest.fixture
async def analytics(database_url: str, nats_url: str,
                    issuer: TestIssuer) -> AsyncIterator[Analytics]:
    """The real app under uvicorn on a free port, its consumer started."""
    app = create_app(AnalyticsSettings(database_url=database_url, nats_url=nats_url,
                                       registry_url="", log_level="warning"))
    nc = await nats.connect(nats_url)
    try:
        async with start_service(app, issuer) as running:
            yield Analytics(running.app, running.url, running.http, running.issuer, nc)
    finally:
        await nc.close()
