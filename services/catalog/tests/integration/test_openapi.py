"""Every answer of the catalog matches its OpenAPI document (property-based, with schemathesis):
public reads, admin writes with an admin's token, the internal lookup refusing a user token."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.app import create_app
from chassis.testing import TestIssuer
from chassis.testing.conformance import check_conformance
from chassis.testing.service import serve_in_thread

from .conftest import catalog_settings

pytestmark = pytest.mark.integration


def test_every_answer_is_documented(tmp_path: Path, issuer: TestIssuer) -> None:
    token = issuer.mint(sub="admin-1", roles=("customer", "admin"))
    app = create_app(catalog_settings(f"sqlite:///{tmp_path / 'catalog.db'}"))
    with serve_in_thread(app, issuer) as url:
        failures = check_conformance(url, token=token)
    assert failures == []
