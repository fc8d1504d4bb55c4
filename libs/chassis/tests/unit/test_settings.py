import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from chassis import ServiceSettings

pytestmark = pytest.mark.unit


class ShopSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHOP_", extra="ignore", frozen=True)
    service_name: str = "shop"


def test_each_service_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_PORT", "9123")
    monkeypatch.setenv("OTHER_PORT", "1")
    settings = ShopSettings()
    assert settings.port == 9123
    assert settings.advertise_url == "http://127.0.0.1:9123"
    assert settings.instance_id.startswith("shop-")


def test_wildcard_host_advertises_loopback() -> None:
    assert ShopSettings(host="0.0.0.0", port=80).advertise_url == "http://127.0.0.1:80"


def test_invalid_values_are_rejected_with_the_field_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_PORT", "99999")
    with pytest.raises(ValidationError, match="port"):
        ShopSettings()
