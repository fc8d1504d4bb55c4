"""Every answer of the inventory matches its OpenAPI document (property-based, with
schemathesis)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from chassis.testing import TestIssuer, nats_server
from chassis.testing.conformance import check_conformance
from chassis.testing.service import serve_in_thread
from inventory.app import create_app

from .conftest import inventory_settings

pytestmark = pytest.mark.integration


class Skus:
    async def all_skus(self) -> list[str]:
        return ["KIT-0001", "BOK-0001"]


class NoSagas:
    async def may_confirm(self, order_ids: Sequence[str]) -> set[str]:
        return set()


def test_every_answer_is_documented(tmp_path: Path, issuer: TestIssuer) -> None:
    token = issuer.mint(sub="u1", roles=("customer", "admin"))
    with nats_server() as nats_url:
        settings = inventory_settings(f"sqlite:///{tmp_path / 'inventory.db'}", nats_url,
                                      seed_from_catalog=True, seed_quantity=5)
        with serve_in_thread(create_app(settings, skus=Skus(), sagas=NoSagas()), issuer) as url:
            failures = check_conformance(url, token=token)
    assert failures == []
