"""Telemetry's settings: the store's bounds, the tail-sampling ones, and never tracing itself."""

from __future__ import annotations

import os

import pytest

from chassis.settings import SettingsError
from telemetry.settings import TelemetrySettings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TELEMETRY_"):
            monkeypatch.delenv(name)


def test_defaults_keep_twenty_thousand_traces_for_an_hour_in_a_local_sqlite_file() -> None:
    settings = TelemetrySettings.load()
    assert settings.service_name == "telemetry"
    assert (settings.max_traces, settings.max_age_seconds) == (20_000, 3600)
    assert settings.database_url == "sqlite:///var/data/telemetry.db"
    assert settings.max_body_bytes == 16 * 1024 * 1024


def test_telemetry_never_traces_itself_whatever_the_environment_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("TELEMETRY_TRACE_SAMPLE_RATIO", "1.0")
    monkeypatch.setenv("TELEMETRY_MAX_TRACES", "50")

    settings = TelemetrySettings.load()

    assert (settings.otlp_endpoint, settings.trace_sample_ratio) == ("", 0.0)
    assert settings.max_traces == 50
    assert TelemetrySettings(otlp_endpoint="http://x").otlp_endpoint == ""


def test_tail_sampling_defaults_keep_a_tenth_of_healthy_traces_settled_for_three_seconds() -> None:
    s = TelemetrySettings.load()
    assert (s.keep_ratio, s.slow_ms, s.settle_seconds, s.max_hold_seconds) == (0.1, 500, 3, 30)
    assert (s.max_held_spans, s.remembered_decisions, s.max_kept_per_second) == (
        200_000, 50_000, 100)


def test_tail_sampling_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_KEEP_RATIO", "1")
    monkeypatch.setenv("TELEMETRY_SETTLE_SECONDS", "0.2")
    monkeypatch.setenv("TELEMETRY_MAX_KEPT_PER_SECOND", "0")

    s = TelemetrySettings.load()

    assert (s.keep_ratio, s.settle_seconds, s.max_kept_per_second) == (1.0, 0.2, 0)


@pytest.mark.parametrize("bad", [
    {"keep_ratio": 1.5}, {"keep_ratio": -0.1}, {"keep_ratio": float("nan")}, {"slow_ms": 0},
    {"settle_seconds": 0}, {"settle_seconds": 10, "max_hold_seconds": 5},
    {"max_held_spans": 10}, {"remembered_decisions": -1}, {"max_kept_per_second": -1}])
def test_tail_sampling_settings_are_validated(bad: dict[str, float]) -> None:
    with pytest.raises(SettingsError):
        TelemetrySettings.load(**bad)  # type: ignore[arg-type]
