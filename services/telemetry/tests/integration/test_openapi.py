"""Every answer of telemetry matches its OpenAPI document (property-based, with schemathesis).

Export bodies are generated as OTLP/JSON only: schemathesis cannot generate protobuf, so that
media type is documented but not exercised here (the HTTP tests send real protobuf)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chassis.testing import TestIssuer
from chassis.testing.conformance import check_conformance
from chassis.testing.service import serve_in_thread
from telemetry.app import create_app
from telemetry.settings import TelemetrySettings

pytestmark = pytest.mark.integration


def test_every_answer_is_documented(tmp_path: Path, issuer: TestIssuer) -> None:
    token = issuer.mint(sub="admin-1", roles=("admin",))
    app = create_app(TelemetrySettings(
        database_url=f"sqlite:///{tmp_path / 'telemetry.db'}", nats_url="", registry_url="",
        keep_ratio=1.0, settle_seconds=0.05, max_body_bytes=64 * 1024, log_level="warning"))
    with serve_in_thread(app, issuer) as url:
        failures = check_conformance(url, token=token)
    assert failures == []
