from __future__ import annotations

import os

import pytest

from catalog.settings import CatalogSettings
from chassis.settings import SettingsError

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CATALOG_"):
            monkeypatch.delenv(name)


def test_defaults_name_the_service_and_seed_into_a_local_sqlite_file() -> None:
    settings = CatalogSettings.load()
    assert settings.service_name == "catalog"
    assert settings.seed_demo is True
    assert settings.database_url == "sqlite:///var/data/catalog.db"


def test_reads_its_own_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_SEED_DEMO", "false")
    monkeypatch.setenv("CATALOG_PORT", "8123")
    monkeypatch.setenv("SOUK_PORT", "9999")
    settings = CatalogSettings.load()
    assert settings.seed_demo is False
    assert settings.port == 8123


def test_refuses_to_run_without_a_database() -> None:
    with pytest.raises(SettingsError):
        CatalogSettings.load(database_url="")
