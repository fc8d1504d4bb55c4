import pytest

from chassis import ServiceSettings
from chassis.broker import servers_of
from chassis.settings import SettingsError

pytestmark = pytest.mark.unit


def test_one_url_is_one_server() -> None:
    assert servers_of("nats://127.0.0.1:4300") == ["nats://127.0.0.1:4300"]


def test_a_cluster_is_its_nodes_comma_separated_blanks_ignored() -> None:
    assert servers_of(" nats://a:1, nats://b:2 ,,nats://c:3,") == [
        "nats://a:1", "nats://b:2", "nats://c:3"]


def test_replicas_come_from_the_environment_one_by_default_at_most_five() -> None:
    class Shop(ServiceSettings, frozen=True, kw_only=True):
        service_name: str = "shop"

    assert Shop.load({}).stream_replicas == 1
    assert Shop.load({"SHOP_STREAM_REPLICAS": "3"}).stream_replicas == 3
    with pytest.raises((SettingsError, ValueError)):
        Shop.load({"SHOP_STREAM_REPLICAS": "6"})
