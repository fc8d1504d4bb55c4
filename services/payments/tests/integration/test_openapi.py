"""Every answer of payments matches its OpenAPI document (property-based, with schemathesis)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chassis.testing import TestIssuer, connected_database, nats_server
from chassis.testing.conformance import check_conformance
from chassis.testing.service import serve_in_thread
from payments.app import create_app
from payments.domain.events import Authorized, Captured

from .conftest import payments_settings, record

pytestmark = pytest.mark.integration


async def _a_payment_of_u1(database_url: str) -> None:
    async with connected_database(database_url, "payments") as db:
        await record(db, "o-1", Authorized(1000, "EUR", "u1", "o-1:authorize"), Captured(1000))


def test_every_answer_is_documented(tmp_path: Path, issuer: TestIssuer) -> None:
    database_url = f"sqlite:///{tmp_path / 'payments.db'}"
    asyncio.run(_a_payment_of_u1(database_url))
    token = issuer.mint(sub="u1", roles=("customer", "admin"))
    with nats_server() as nats_url:
        app = create_app(payments_settings(database_url, nats_url))
        with serve_in_thread(app, issuer) as url:
            failures = check_conformance(url, token=token)
    assert failures == []
