"""Settings come from the NOTIFICATIONS_* environment and refuse what cannot work."""

from __future__ import annotations

import pytest

from notifications.settings import NotificationsSettings

pytestmark = pytest.mark.unit


def test_reads_the_notifications_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFICATIONS_PORT", "8123")
    monkeypatch.setenv("NOTIFICATIONS_DATABASE_URL", "sqlite:///x.db")
    settings = NotificationsSettings.load()
    assert (settings.service_name, settings.port, settings.database_url) == (
        "notifications", 8123, "sqlite:///x.db")


def test_refuses_an_empty_database_url() -> None:
    with pytest.raises(ValueError, match="NOTIFICATIONS_DATABASE_URL"):
        NotificationsSettings.load(database_url="")
