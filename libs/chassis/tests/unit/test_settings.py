from typing import Annotated, ClassVar

import msgspec
import pytest
from msgspec import Meta

from chassis import ServiceSettings
from chassis.settings import BatchSize, SettingsError, StatefulServiceSettings, Timeout

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


class OrdersLikeSettings(StatefulServiceSettings, frozen=True, kw_only=True):
    service_name: str = "orders"


class PrefixedSettings(StatefulServiceSettings, frozen=True, kw_only=True):
    ENV_PREFIX: ClassVar[str] = "LEGACY_"
    service_name: str = "orders"


def test_the_prefix_and_the_database_follow_the_service_name() -> None:
    assert OrdersLikeSettings.env_prefix() == "ORDERS_"
    settings = OrdersLikeSettings.load(env={"ORDERS_PORT": "8123", "SHOP_PORT": "1"})
    assert settings.port == 8123
    assert settings.database_url == "sqlite:///var/data/orders.db"


def test_a_database_not_given_goes_to_the_data_folder_the_launcher_gives() -> None:
    """A service that needs a database, started with none (a topology's `database = false`),
    wrote var/data/<service>.db under the supervisor's working folder, shared by every home."""
    settings = OrdersLikeSettings.load(env={"ORDERS_DATA_DIR": "/srv/souk/data/"})
    assert settings.database_url == "sqlite:////srv/souk/data/orders.db"
    given = OrdersLikeSettings.load(env={"ORDERS_DATA_DIR": "/srv/souk/data",
                                         "ORDERS_DATABASE_URL": "sqlite:////elsewhere/o.db"})
    assert given.database_url == "sqlite:////elsewhere/o.db"


def test_an_explicit_prefix_and_database_url_still_win() -> None:
    assert PrefixedSettings.env_prefix() == "LEGACY_"
    settings = PrefixedSettings.load(env={"LEGACY_DATABASE_URL": "postgresql://db/orders",
                                          "ORDERS_DATABASE_URL": "sqlite:///ignored.db"})
    assert settings.database_url == "postgresql://db/orders"
    assert OrdersLikeSettings.load(env={"ORDERS_DATABASE_URL": "sqlite:///x.db"}).database_url == (
        "sqlite:///x.db")
    assert OrdersLikeSettings(database_url="sqlite:///y.db").database_url == "sqlite:///y.db"


def test_a_stateful_service_refuses_an_empty_database_url() -> None:
    with pytest.raises(SettingsError, match="ORDERS_DATABASE_URL"):
        OrdersLikeSettings.load(env={"ORDERS_DATABASE_URL": ""})


def test_a_service_without_a_database_has_none_by_default() -> None:
    assert ShopSettings.load(env={}).database_url == ""
    assert ServiceSettings(service_name="demo").database_url == ""


class SweepSettings(ServiceSettings, frozen=True, kw_only=True):
    service_name: str = "sweep"
    answer_timeout: Annotated[Timeout, Meta(description="seconds to wait for the answer")] = 15.0
    batch: BatchSize = 500


def test_a_shared_type_enforces_its_bounds_and_keeps_the_field_description() -> None:
    assert SweepSettings.load(env={"SWEEP_ANSWER_TIMEOUT": "600", "SWEEP_BATCH": "1"}).batch == 1
    for variable, value in [("SWEEP_ANSWER_TIMEOUT", "0"), ("SWEEP_ANSWER_TIMEOUT", "600.5"),
                            ("SWEEP_BATCH", "0"), ("SWEEP_BATCH", "10001")]:
        with pytest.raises(SettingsError, match=variable):
            SweepSettings.load(env={variable: value})
    timeout, batch = (field for field in msgspec.inspect.type_info(SweepSettings).fields
                      if field.name in ("answer_timeout", "batch"))
    assert isinstance(timeout.type, msgspec.inspect.Metadata)
    assert timeout.type.extra_json_schema == {"description": "seconds to wait for the answer"}
    assert timeout.type.type == msgspec.inspect.FloatType(gt=0, le=600)
    assert timeout.default == 15.0 and batch.default == 500


def test_the_inbox_outlives_what_the_stream_can_deliver_again() -> None:
    # issue 10 item 17: an inbox row pruned while the stream still holds its message would let a
    # redelivery apply it twice
    with pytest.raises(SettingsError, match="inbox_retention"):
        ServiceSettings.load({"SERVICE_STREAM_MAX_AGE": "864000", "SERVICE_INBOX_RETENTION": "86400"})
    settings = ServiceSettings.load({})
    assert settings.inbox_retention > settings.stream_max_age
    # unset, the retention follows the stream's age limit
    assert ServiceSettings.load({"SERVICE_STREAM_MAX_AGE": "864000"}).inbox_retention == 950_400
    assert (settings.stream_max_bytes, settings.dlq_max_bytes, settings.relay_max_queued) == (
        1 << 30, 128 << 20, 10_000)


def test_fixed_upstream_urls_come_as_name_url_pairs() -> None:
    settings = ShopSettings.load(env={
        "SHOP_UPSTREAM_URLS": "catalog=http://catalog:8000/, identity = http://identity:8000"})
    assert settings.fixed_upstreams() == {"catalog": "http://catalog:8000",
                                          "identity": "http://identity:8000"}
    assert ShopSettings().fixed_upstreams() == {}
    for wrong in ("catalog", "=http://x:1", "catalog=catalog:8000"):
        with pytest.raises(SettingsError, match="upstream_urls"):
            ShopSettings.load(env={"SHOP_UPSTREAM_URLS": wrong})
