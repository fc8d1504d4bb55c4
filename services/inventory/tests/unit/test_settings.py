"""The inventory settings read from INVENTORY_* and refuse nonsense."""

from __future__ import annotations

import pytest

from chassis.settings import SettingsError
from inventory.settings import InventorySettings

pytestmark = pytest.mark.unit


def test_defaults() -> None:
    s = InventorySettings.load()
    assert (s.service_name, s.reservation_ttl, s.sweep_interval, s.seed_quantity,
            s.seed_from_catalog) == ("inventory", 900.0, 1.0, 100_000, True)


def test_reads_the_inventory_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_RESERVATION_TTL", "30")
    monkeypatch.setenv("INVENTORY_SEED_FROM_CATALOG", "false")
    s = InventorySettings.load()
    assert s.reservation_ttl == 30 and not s.seed_from_catalog


def test_refuses_an_empty_database_url_and_a_zero_ttl() -> None:
    with pytest.raises(SettingsError):
        InventorySettings.load(database_url="")
    with pytest.raises(SettingsError):
        InventorySettings.load(reservation_ttl=0)
