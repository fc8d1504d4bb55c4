"""Settings come from the ANALYTICS_* environment and refuse what cannot work."""

from __future__ import annotations

import pytest

from analytics.settings import AnalyticsSettings

pytestmark = pytest.mark.unit


def test_reads_the_analytics_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICS_PORT", "8124")
    monkeypatch.setenv("ANALYTICS_REPLAY_BATCH_SIZE", "50")
    settings = AnalyticsSettings.load()
    assert (settings.service_name, settings.port, settings.replay_batch_size) == (
        "analytics", 8124, 50)


@pytest.mark.parametrize("overrides", [{"database_url": ""}, {"replay_batch_size": 0}])
def test_refuses_invalid_values(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        AnalyticsSettings.load(**overrides)  # type: ignore[arg-type]
