"""Every answer of analytics matches its OpenAPI document (property-based, with schemathesis)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from analytics.app import create_app
from analytics.settings import AnalyticsSettings
from chassis.testing import TestIssuer, connected_database, nats_server
from chassis.testing.conformance import check_conformance
from chassis.testing.service import serve_in_thread

from .conftest import cancelled, confirmed, placed, project, unit_of_work

pytestmark = pytest.mark.integration


async def _seed(url: str) -> None:
    """Read models with every status, revenue and products, so the summary's schema is checked
    with content (a replay empties them again: the stream here is empty)."""
    async with connected_database(url, "analytics") as db:
        await project(unit_of_work(db), [placed("o-1"), confirmed("o-1"), cancelled("o-2"),
                                          placed("o-3")])


def test_every_answer_is_documented(tmp_path: Path, issuer: TestIssuer) -> None:
    url = f"sqlite:///{tmp_path / 'analytics.db'}"
    asyncio.run(_seed(url))
    token = issuer.mint(sub="u1", roles=("customer", "admin"))
    with nats_server() as nats_url:
        app = create_app(AnalyticsSettings(database_url=url, nats_url=nats_url,
                                           registry_url="", log_level="warning"))
        with serve_in_thread(app, issuer) as base_url:
            failures = check_conformance(base_url, token=token)
    assert failures == []
