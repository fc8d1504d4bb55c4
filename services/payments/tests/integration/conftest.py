"""Payments under test: the real app on uvicorn with a real nats-server and real SQLite or
PostgreSQL (the chassis's fixtures), and the SQL ledger on a migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from chassis.db import Database, SqlUnitOfWork
from chassis.messaging import MessageTx
from chassis.testing import TestIssuer, connected_database
from chassis.testing.service import RunningService, start_service
from payments.adapters.sql import SqlPayments
from payments.app import create_app
from payments.domain.events import PaymentEvent
from payments.service.ports import CardProcessor, PaymentsUnitOfWork
from payments.settings import PaymentsSettings


def payments_settings(database_url: str, nats_url: str, **overrides: Any) -> PaymentsSettings:
    values: dict[str, Any] = {"database_url": database_url, "nats_url": nats_url,
                              "registry_url": "", "log_level": "warning"}
    return PaymentsSettings(**(values | overrides))


StartPayments = Callable[..., AbstractAsyncContextManager[RunningService]]


@pytest.fixture
def start_payments(database_url: str, nats_url: str, issuer: TestIssuer) -> StartPayments:
    """``async with start_payments(timeout_delay=0.5) as payments:`` — a run of payments on this
    test's database and broker, with settings changed (and ``processor=`` another processor)."""

    @asynccontextmanager
    async def start(processor: CardProcessor | None = None,
                    **overrides: Any) -> AsyncIterator[RunningService]:
        app = create_app(payments_settings(database_url, nats_url, **overrides),
                         processor=processor)
        async with start_service(app, issuer) as running:
            yield running

    return start


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The migrated, empty payments database, connected."""
    async with connected_database(database_url, "payments") as db:
        yield db


def sql_uow(db: Database) -> PaymentsUnitOfWork:
    """The SQL ledger over plain transactions of ``db`` (what it publishes is dropped)."""

    @asynccontextmanager
    async def begin(*, readonly: bool = False) -> AsyncIterator[MessageTx]:
        async with db.transaction(readonly=readonly) as tx:
            yield MessageTx(tx, dialect=db.dialect)

    return SqlUnitOfWork(begin, SqlPayments)


async def record(db: Database, order_id: str, *events: PaymentEvent) -> None:
    """Append ``events`` to a stream, one append each, as the commands would have."""
    async with sql_uow(db)() as ledger:
        stream = await ledger.load(order_id)
        for event in events:
            stream = await ledger.append(stream, [event])
