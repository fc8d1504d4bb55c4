from __future__ import annotations

import os

import pytest

from telemetry.domain.errors import InvalidTraceId
from telemetry.domain.spans import normalize_trace_id
from telemetry.settings import TelemetrySettings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TELEMETRY_"):
            monkeypatch.delenv(name)


def test_defaults_keep_twenty_thousand_traces_for_an_hour_in_a_local_sqlite_file() -> None:
    settings = TelemetrySettings()
    assert settings.service_name == "telemetry"
    assert (settings.max_traces, settings.max_age_seconds) == (20_000, 3600)
    assert settings.database_url == "sqlite:///var/data/telemetry.db"


def test_telemetry_never_traces_itself_whatever_the_environment_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("TELEMETRY_TRACE_SAMPLE_RATIO", "1.0")
    monkeypatch.setenv("TELEMETRY_MAX_TRACES", "50")

    settings = TelemetrySettings()

    assert (settings.otlp_endpoint, settings.trace_sample_ratio) == ("", 0.0)
    assert settings.max_traces == 50
    assert TelemetrySettings(otlp_endpoint="http://x").otlp_endpoint == ""


@pytest.mark.parametrize("bad", ["", "abc", "0" * 32, "g" * 32, "a" * 33])
def test_a_trace_id_is_32_hex_digits_and_not_zero(bad: str) -> None:
    with pytest.raises(InvalidTraceId):
        normalize_trace_id(bad)


def test_a_trace_id_is_read_case_insensitively() -> None:
    assert normalize_trace_id("ABCDEF0123456789ABCDEF0123456789") == "abcdef0123456789abcdef0123456789"
