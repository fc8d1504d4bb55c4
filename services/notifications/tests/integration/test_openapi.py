"""Every answer of notifications matches its OpenAPI document (property-based, with
schemathesis)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chassis.testing import TestIssuer, connected_database, nats_server
from chassis.testing.conformance import check_conformance
from chassis.testing.service import serve_in_thread
from notifications.app import create_app
from notifications.domain.messages import Kind
from notifications.settings import NotificationsSettings

from .conftest import outcome, seed, unit_of_work

pytestmark = pytest.mark.integration


async def _seed(url: str) -> None:
    """A mailbox with messages of both kinds, so that item schemas are checked too."""
    async with connected_database(url, "notifications") as db:
        await seed(unit_of_work(db), outcome("o-1", "u1"),
                   outcome("o-2", "u1", Kind.ORDER_CANCELLED), outcome("o-3", "u2"))


def test_every_answer_is_documented(tmp_path: Path, issuer: TestIssuer) -> None:
    url = f"sqlite:///{tmp_path / 'notifications.db'}"
    asyncio.run(_seed(url))
    token = issuer.mint(sub="u1", roles=("customer", "admin"))
    with nats_server() as nats_url:
        app = create_app(NotificationsSettings(database_url=url, nats_url=nats_url,
                                               registry_url="", log_level="warning"))
        with serve_in_thread(app, issuer) as base_url:
            failures = check_conformance(base_url, token=token)
    assert failures == []
