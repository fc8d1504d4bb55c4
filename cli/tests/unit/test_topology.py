from pathlib import Path

import pytest

from souk.topology import Topology, TopologyError, find_topology, load_topology, parse_topology

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]


def errors_of(text: str) -> str:
    with pytest.raises(TopologyError) as info:
        parse_topology(text, "t.toml")
    return str(info.value)


def test_reads_the_default_topology_of_the_repo() -> None:
    topology = load_topology(REPO / "souk.toml")

    assert topology.tiers() == [
        ["registry", "telemetry", "identity"],
        ["catalog", "cart", "inventory", "orders", "payments", "notifications", "analytics",
         "web", "gateway"]]
    assert topology.services["catalog"].instances == 2
    assert topology.services["catalog"].database is True
    assert topology.platform.gateway_port == 8080


def test_fills_defaults_for_what_a_section_leaves_out() -> None:
    topology = parse_topology("[services.cart]\n")

    cart = topology.services["cart"]
    assert (cart.instances, cart.database, cart.port, cart.env) == (1, False, None, {})
    assert topology.module_of("cart") == "cart"
    assert topology.platform.host == "127.0.0.1"


def test_module_and_env_override_how_a_service_runs() -> None:
    topology = parse_topology('[services.w]\nmodule = "pkg.dummy"\nenv = {A_B = "1"}\n')

    assert topology.module_of("w") == "pkg.dummy"
    assert topology.services["w"].env == {"A_B": "1"}


def test_orders_tiers_registry_then_the_others_gateway_last_whatever_the_file_order() -> None:
    topology = parse_topology(
        "[services.gateway]\n[services.cart]\n[services.registry]\n[services.catalog]\n")

    assert topology.tiers() == [["registry"], ["cart", "catalog", "gateway"]]


def test_identity_starts_with_the_registry_before_the_others() -> None:
    topology = parse_topology("[services.gateway]\n[services.cart]\n[services.identity]\n"
                              "[services.registry]\n[services.catalog]\n")

    assert topology.tiers() == [["registry", "identity"], ["cart", "catalog", "gateway"]]


def test_telemetry_starts_with_the_registry_so_the_first_spans_are_kept() -> None:
    topology = parse_topology("[services.catalog]\n[services.telemetry]\n[services.identity]\n"
                              "[services.registry]\n")

    assert topology.tiers() == [["registry", "telemetry", "identity"], ["catalog"]]
    assert parse_topology("[services.telemetry]\n[services.cart]\n").tiers() == [
        ["telemetry"], ["cart"]]


def test_the_trace_sample_ratio_defaults_to_everything_and_must_be_a_share() -> None:
    assert parse_topology("").platform.trace_sample_ratio == 1.0
    assert parse_topology("[platform]\ntrace_sample_ratio = 0.25\n").platform.trace_sample_ratio \
        == 0.25
    for bad in ("1.5", "-0.1", "nan", '"all"'):
        assert "platform.trace_sample_ratio" in errors_of(f"[platform]\ntrace_sample_ratio = {bad}\n")


def test_one_nats_node_by_default_or_an_odd_cluster_whose_nodes_are_the_replicas() -> None:
    assert parse_topology("").platform.nats_nodes == 1
    assert parse_topology("").platform.stream_replicas == 1
    three = parse_topology("[platform]\nnats_nodes = 3\n").platform
    assert (three.nats_nodes, three.stream_replicas) == (3, 3)
    for bad in ("0", "2", "4", "6"):
        assert "platform.nats_nodes" in errors_of(f"[platform]\nnats_nodes = {bad}\n")


def test_a_file_without_registry_or_gateway_is_valid() -> None:
    assert parse_topology("[services.worker]\ninstances = 3\n").tiers() == [["worker"]]
    assert parse_topology("").tiers() == []
    assert parse_topology("[services.gateway]\n").tiers() == [["gateway"]]


def test_names_an_unknown_key_with_its_section() -> None:
    message = errors_of("[services.catalog]\ninstance = 2\n")

    assert "t.toml is not a valid topology" in message
    assert "services.catalog.instance: unknown key" in message


def test_names_an_unknown_platform_key_and_an_unknown_section() -> None:
    message = errors_of("[platform]\ngateway = 1\n[databases]\n")

    assert "platform.gateway: unknown key" in message
    assert "databases: unknown key" in message


def test_refuses_a_negative_instance_count() -> None:
    message = errors_of("[services.catalog]\ninstances = -1\n")

    assert "services.catalog.instances: Input should be greater than or equal to 0" in message


def test_refuses_more_instances_than_one_machine_should_run() -> None:
    message = errors_of("[services.catalog]\ninstances = 65\n")

    assert "services.catalog.instances: Input should be less than or equal to 64" in message


def test_refuses_a_service_that_is_not_a_table() -> None:
    assert "services.catalog: must be a table" in errors_of("[services]\ncatalog = 3\n")


def test_refuses_wrong_value_types() -> None:
    message = errors_of('[services.catalog]\ninstances = "two"\ndatabase = "maybe"\n')

    assert "services.catalog.instances" in message
    assert "services.catalog.database" in message


def test_refuses_invalid_toml_with_the_parser_message() -> None:
    assert "t.toml is not valid TOML" in errors_of("[services.catalog\n")


@pytest.mark.parametrize("text", [
    "[platform]\ngateway_port = 4222\n",
    "[services.catalog]\nport = 4222\n",
])
def test_never_takes_port_4222(text: str) -> None:
    assert "4222 is reserved" in errors_of(text)


def test_refuses_a_nats_section_because_souk_starts_nats_itself() -> None:
    assert "'nats' is started by souk itself" in errors_of("[services.nats]\n")


@pytest.mark.parametrize("name", ["Catalog", "order-history", "9lives"])
def test_refuses_service_names_that_are_not_module_and_env_friendly(name: str) -> None:
    assert f"service name {name!r}" in errors_of(f'[services."{name}"]\n')


def test_refuses_two_services_on_one_fixed_port() -> None:
    message = errors_of("[platform]\ngateway_port = 9000\n[services.gateway]\n"
                        "[services.catalog]\nport = 9000\n")

    assert "both want port 9000" in message


def test_refuses_bad_environment_names() -> None:
    assert "not an environment variable name: 1X" in errors_of(
        '[services.a]\nenv = {"1X" = "v"}\n')


def test_gateway_port_override_is_validated_like_the_file() -> None:
    topology = parse_topology("[services.gateway]\n")

    assert topology.with_gateway_port(0).platform.gateway_port == 0
    with pytest.raises(TopologyError, match="--gateway-port"):
        topology.with_gateway_port(70000)


def test_fixed_ports_are_the_gateway_port_and_explicit_ports_of_running_services() -> None:
    topology = parse_topology("[platform]\ngateway_port = 9000\n[services.gateway]\n"
                              "[services.a]\nport = 9001\n[services.b]\nport = 9002\ninstances = 0\n"
                              "[services.c]\n")

    assert topology.fixed_ports() == {"gateway-1": 9000, "a-1": 9001}
    assert Topology().fixed_ports() == {}
    assert parse_topology("[platform]\ngateway_port = 0\n[services.gateway]\n").fixed_ports() == {}


def test_finds_the_topology_in_a_parent_folder(tmp_path: Path) -> None:
    (tmp_path / "souk.toml").write_text("")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)

    assert find_topology(deep) == tmp_path / "souk.toml"


def test_says_how_to_proceed_when_there_is_no_topology(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="pass --topology FILE"):
        find_topology(tmp_path, name="no-such-file.toml")
    with pytest.raises(TopologyError, match="cannot read topology"):
        load_topology(tmp_path / "missing.toml")


def test_a_topology_that_is_not_utf8_is_refused_with_where(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"[platform]\ngateway_port = 0 # caf\xe9\n")
    with pytest.raises(TopologyError, match=r"not UTF-8 text .*b'\\xe9' on line 2"):
        load_topology(path)
