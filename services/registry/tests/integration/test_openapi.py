"""Every answer of the registry matches its OpenAPI document (property-based, with
schemathesis)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chassis.testing import TestIssuer
from chassis.testing.conformance import check_conformance
from chassis.testing.service import serve_in_thread
from registry.app import create_app
from registry.settings import RegistrySettings

pytestmark = pytest.mark.integration


def test_every_answer_is_documented(tmp_path: Path, issuer: TestIssuer) -> None:
    app = create_app(RegistrySettings(
        database_url=f"sqlite:///{tmp_path / 'registry.db'}", log_level="warning",
        # the generated instances have made-up hosts: no health checks (and so no DNS
        # look-ups) during the run; a watch that matched the registry's epoch by chance
        # would wait at most this long
        check_interval=3600, max_watch_seconds=0.5))
    with serve_in_thread(app, issuer) as url:
        failures = check_conformance(url)
    assert failures == []
