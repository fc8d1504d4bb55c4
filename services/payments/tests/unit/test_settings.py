from __future__ import annotations

import os

import pytest

from chassis.settings import SettingsError
from payments.settings import PaymentsSettings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PAYMENTS_"):
            monkeypatch.delenv(name)


def test_defaults_answer_inline_and_time_out_after_ten_seconds() -> None:
    settings = PaymentsSettings.load()
    assert settings.service_name == "payments"
    assert (settings.timeout_delay, settings.decline_rate, settings.latency_ms) == (10.0, 0.0, 0)


def test_reads_its_own_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENTS_TIMEOUT_DELAY", "0.5")
    monkeypatch.setenv("PAYMENTS_DECLINE_RATE", "0.2")
    monkeypatch.setenv("PAYMENTS_LATENCY_MS", "30")
    settings = PaymentsSettings.load()
    assert (settings.timeout_delay, settings.decline_rate, settings.latency_ms) == (0.5, 0.2, 30)


@pytest.mark.parametrize(("name", "value"), [("DECLINE_RATE", "1.5"), ("LATENCY_MS", "-1"),
                                             ("DATABASE_URL", "")])
def test_refuses_nonsense(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(f"PAYMENTS_{name}", value)
    with pytest.raises(SettingsError):
        PaymentsSettings.load()
