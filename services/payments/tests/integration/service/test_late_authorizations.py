"""The processor is asked once per payment: never inside a transaction that may roll back, and
by one instance only, whichever instances look for pending payments (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from chassis.db import Database
from chassis.testing import connected_database
from payments.adapters.fake_processor import FakeCardProcessor
from payments.adapters.prometheus import PrometheusPaymentMetrics
from payments.domain.events import AuthorizationRequested
from payments.domain.payment import Status
from payments.service.late_authorizations import LateAuthorizer

from ..conftest import record, sql_uow

pytestmark = pytest.mark.integration

PENDING = 20


@pytest.fixture
async def other_connection(database: Database, database_url: str) -> AsyncIterator[Database]:
    """A second instance's own connection to the database (SQLite: the process's one)."""
    if database.dialect != "postgresql":
        yield database
        return
    async with connected_database(database_url) as db:
        yield db


async def test_two_instances_ask_the_processor_once_per_pending_payment(
        database: Database, other_connection: Database) -> None:
    order_ids = [f"p{i:02}" for i in range(PENDING)]
    for order_id in order_ids:
        await record(database, order_id, AuthorizationRequested(
            "u1", 900, "EUR", "timeout", f"{order_id}:authorize", capture=True))
    cards = [FakeCardProcessor(timeout_delay=0.2), FakeCardProcessor(timeout_delay=0.2)]
    instances = [LateAuthorizer(sql_uow(db), card,
                                PrometheusPaymentMetrics(CollectorRegistry()))
                 for db, card in zip((database, other_connection), cards, strict=True)]
    try:
        # both look at once, and again while the first calls are still waiting on the processor
        for _ in range(2):
            await asyncio.gather(*(instance.resume() for instance in instances))
        await asyncio.wait_for(asyncio.gather(*(i.wait_idle() for i in instances)), 30)
    finally:
        for instance in instances:
            await instance.stop()
    asked = cards[0].asked + cards[1].asked
    assert sorted(asked) == [f"{o}:authorize" for o in order_ids]
    assert set(asked.values()) == {1}, asked
    async with sql_uow(database)(readonly=True) as ledger:
        for order_id in order_ids:
            assert (await ledger.load(order_id)).payment.status is Status.CAPTURED
