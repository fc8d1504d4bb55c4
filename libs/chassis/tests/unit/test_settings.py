from typing import ClassVar

import pytest

from chassis import ServiceSettings
from chassis.settings import SettingsError

pytestmark = pytest.mark.unit


class ShopSettings(ServiceSettings, frozen=True, kw_only=True):
    ENV_PREFIX: ClassVar[str] = "SHOP_"
    service_name: str = "shop"
    peers: tuple[str, ...] = ()


def test_each_service_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_PORT", "9123")
    monkeypatch.setenv("OTHER_PORT", "1")
    settings = ShopSettings.load()
    assert settings.port == 9123
    assert settings.advertise_url == "http://127.0.0.1:9123"
    assert settings.instance_id.startswith("shop-")


def test_wildcard_host_advertises_loopback() -> None:
    assert ShopSettings(host="0.0.0.0", port=80).advertise_url == "http://127.0.0.1:80"


def test_invalid_values_are_rejected_with_the_field_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_PORT", "99999")
    with pytest.raises(SettingsError, match="SHOP_PORT"):
        ShopSettings.load()


def test_lists_come_comma_separated_or_as_json_and_secrets_never_show() -> None:
    assert ShopSettings.load(env={"SHOP_PEERS": "a, b"}).peers == ("a", "b")
    assert ShopSettings.load(env={"SHOP_PEERS": '["c"]'}).peers == ("c",)
    settings = ShopSettings.load(env={"SHOP_SERVICE_SECRET": "hunter2"})
    assert settings.service_secret == "hunter2" and "hunter2" not in repr(settings)


def test_overrides_win_over_the_environment_and_are_checked() -> None:
    assert ShopSettings.load(env={"SHOP_PORT": "1"}, port=2).port == 2
    with pytest.raises(SettingsError, match="SHOP_LOG_LEVEL"):
        ShopSettings.load(env={}, log_level="loud")
