"""The composition root: telemetry never traces itself, and takes export bodies as large as its
settings say."""

from __future__ import annotations

import pytest

from telemetry.app import create_app, decision_interval
from telemetry.settings import TelemetrySettings

pytestmark = pytest.mark.unit


def settings(**overrides: object) -> TelemetrySettings:
    return TelemetrySettings(**{"database_url": "sqlite:///unused.db", "registry_url": "",
                                "nats_url": "", "log_level": "warning", **overrides})


def test_the_app_records_no_spans_even_when_told_to_export_them() -> None:
    app = create_app(settings(otlp_endpoint="http://127.0.0.1:4318", trace_sample_ratio=1.0))

    assert app.tracing.enabled is False


def test_export_bodies_are_limited_by_max_body_bytes() -> None:
    assert create_app(settings(max_body_bytes=64 * 1024)).max_body == 64 * 1024


@pytest.mark.parametrize(("settle", "interval"), [(3, 0.5), (1, 0.25), (0.02, 0.01)])
def test_traces_are_decided_a_few_times_per_settle_time(settle: float, interval: float) -> None:
    assert decision_interval(settings(settle_seconds=settle)) == interval
