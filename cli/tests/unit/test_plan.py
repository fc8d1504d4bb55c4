from collections.abc import Iterator
from pathlib import Path

import pytest

from souk.credentials import DemoUser
from souk.home import Home
from souk.plan import Planner, PortAllocator, connect_host
from souk.topology import parse_topology

pytestmark = pytest.mark.unit

HOME = Home(Path("/srv/souk"))
TOPOLOGY = """
[platform]
host = "127.0.0.1"
gateway_port = 8080
[services.registry]
database = true
[services.catalog]
instances = 2
database = true
env = {CATALOG_PAGE_SIZE = "50"}
[services.gateway]
instances = 2
"""


def counting_picker(start: int = 41000) -> Iterator[int]:
    port = start
    while True:
        yield port
        port += 1


def planner(text: str = TOPOLOGY, ports: Iterator[int] | None = None) -> Planner:
    picks = ports or counting_picker()
    return Planner(parse_topology(text), HOME, PortAllocator(lambda: next(picks)),
                   nats_binary="/bin/nats-server", python="/venv/bin/python")


def test_a_service_instance_gets_the_whole_process_contract_in_its_environment() -> None:
    plan = planner()

    spec = plan.instance("catalog", 2)

    registry_port = plan.port_of("registry", 1)
    assert spec.argv == ("/venv/bin/python", "-m", "catalog")
    assert spec.instance == "catalog-2"
    assert {key: value for key, value in spec.env.items() if key.startswith("CATALOG_")} == {
        "CATALOG_HOST": "127.0.0.1",
        "CATALOG_PORT": str(spec.port),
        "CATALOG_INSTANCE_ID": "catalog-2",
        "CATALOG_NATS_URL": plan.nats().url,
        "CATALOG_REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
        "CATALOG_LOG_FORMAT": "json",
        "CATALOG_FAULT_DIR": "/srv/souk/faults/catalog",
        "CATALOG_LIVE_CACHE": "/srv/souk/data/catalog.live.json",
        "CATALOG_DATA_DIR": "/srv/souk/data",
        "CATALOG_STREAM_MAX_AGE": "604800.0",
        "CATALOG_STREAM_MAX_BYTES": str(1 << 30),
        "CATALOG_STREAM_REPLICAS": "1",
        "CATALOG_DATABASE_URL": "sqlite:////srv/souk/data/catalog.db",
        "CATALOG_PAGE_SIZE": "50",
    }
    assert spec.url == f"http://127.0.0.1:{spec.port}"
    assert spec.ready_url == f"{spec.url}/health/ready"
    assert spec.live_url == f"{spec.url}/health/live"
    assert spec.log_file == Path("/srv/souk/logs/catalog-2.log")


def test_the_registry_also_gets_its_own_url_and_a_service_without_database_gets_none() -> None:
    plan = planner()

    registry, gateway = plan.instance("registry", 1), plan.instance("gateway", 1)

    assert registry.env["REGISTRY_REGISTRY_URL"] == registry.url
    assert "GATEWAY_DATABASE_URL" not in gateway.env


def test_no_registry_url_when_the_topology_has_no_registry() -> None:
    spec = planner("[services.worker]\n").instance("worker", 1)

    assert not any(key.endswith("REGISTRY_URL") for key in spec.env)
    assert spec.env["WORKER_NATS_URL"].startswith("nats://127.0.0.1:")


def test_the_gateway_takes_the_public_port_and_its_extra_instances_free_ones() -> None:
    plan = planner()

    assert plan.instance("gateway", 1).port == 8080
    assert plan.instance("gateway", 2).port not in (8080, 4222)
    assert plan.gateway_url == "http://127.0.0.1:8080"


def test_gateway_port_zero_means_a_free_port() -> None:
    plan = planner("[platform]\ngateway_port = 0\n[services.gateway]\n", counting_picker(43000))

    assert plan.instance("gateway", 1).port == 43000


def test_a_fixed_port_applies_to_instance_one_only() -> None:
    plan = planner("[services.catalog]\nport = 9100\ninstances = 2\n")

    assert plan.instance("catalog", 1).port == 9100
    assert plan.instance("catalog", 2).port != 9100


def test_a_slot_keeps_its_port_across_restarts_and_rescaling() -> None:
    plan = planner()
    first = plan.instance("catalog", 2)

    plan.instance("catalog", 3)
    again = plan.instance("catalog", 2)

    assert again == first


def test_every_instance_gets_a_distinct_port() -> None:
    plan = planner()
    specs = [plan.nats(), *(plan.instance("catalog", n) for n in range(1, 6)),
             plan.instance("registry", 1), plan.instance("gateway", 1)]

    ports = [spec.port for spec in specs] + [plan.nats().monitor_port]
    assert len(set(ports)) == len(ports)


def test_nats_runs_with_jetstream_on_disk_in_home_on_free_ports() -> None:
    nats = planner(ports=iter([4222, 42001, 42002])).nats()

    assert nats.argv == ("/bin/nats-server", "-a", "127.0.0.1", "-p", "42001", "-m", "42002",
                         "-js", "-sd", "/srv/souk/nats", "-n", "souk", "--logtime_utc")
    assert nats.url == "nats://127.0.0.1:42001"
    assert nats.env == {"GOMAXPROCS": "1"}  # one thread of Go on a machine it shares
    assert nats.ready_url == "http://127.0.0.1:42002/healthz"
    assert nats.instance == "nats-1"
    assert nats.log_file == Path("/srv/souk/logs/nats-1.log")


CLUSTER = TOPOLOGY.replace("gateway_port = 8080\n", "gateway_port = 8080\nnats_nodes = 3\n")


@pytest.mark.parametrize(("line", "env"), [("nats_threads = 2\n", {"GOMAXPROCS": "2"}),
                                           ("nats_threads = 0\n", {})])
def test_the_threads_of_each_nats_server_come_from_the_topology(line: str,
                                                                 env: dict[str, str]) -> None:
    plan = planner(CLUSTER.replace("nats_nodes = 3\n", "nats_nodes = 3\n" + line))
    assert [node.env for node in plan.nats_nodes()] == [env] * 3


def test_a_three_node_cluster_routes_its_nodes_to_each_other_each_with_its_own_store() -> None:
    plan = planner(CLUSTER, ports=counting_picker(42000))

    nodes = plan.nats_nodes()

    assert [node.instance for node in nodes] == ["nats-1", "nats-2", "nats-3"]
    # client, monitor and route port per node, in that order
    assert [(node.port, node.monitor_port) for node in nodes] == [
        (42000, 42001), (42003, 42004), (42006, 42007)]
    assert nodes[1].argv == (
        "/bin/nats-server", "-a", "127.0.0.1", "-p", "42003", "-m", "42004", "-js",
        "-sd", "/srv/souk/nats/nats-2", "-n", "souk-2", "--cluster_name", "souk",
        "--cluster", "nats://127.0.0.1:42005",
        "--routes", "nats://127.0.0.1:42002,nats://127.0.0.1:42008", "--no_advertise",
        "--logtime_utc")
    assert nodes[2].log_file == Path("/srv/souk/logs/nats-3.log")
    assert plan.nats(2) == nodes[1] and plan.nats_nodes() == nodes  # the same ports on restart
    assert plan.nats_url == ("nats://127.0.0.1:42000,nats://127.0.0.1:42003,"
                             "nats://127.0.0.1:42006")


def test_every_service_of_a_cluster_gets_every_node_and_three_replicas() -> None:
    plan = planner(CLUSTER)

    env = plan.instance("catalog", 1).env

    assert env["CATALOG_NATS_URL"] == plan.nats_url
    assert len(env["CATALOG_NATS_URL"].split(",")) == 3
    assert env["CATALOG_STREAM_REPLICAS"] == "3"


def test_a_proxied_service_of_a_cluster_reaches_every_node_through_a_proxy_link() -> None:
    plan = planner(CLUSTER.replace("nats_nodes = 3\n", 'nats_nodes = 3\nfault_proxies = ["catalog"]\n'))
    proxy = plan.fault_proxy()
    assert proxy is not None

    links = [proxy.argv[i + 1].split(":") for i, arg in enumerate(proxy.argv) if arg == "--link"]

    # one link per node, all the target "broker": a partition cuts them together
    assert [(s, t, int(up)) for s, t, _, _, up in links] == [
        ("catalog", "broker", node.port) for node in plan.nats_nodes()]
    assert plan.instance("catalog", 1).env["CATALOG_NATS_URL"] == ",".join(
        f"nats://127.0.0.1:{port}" for _, _, port, _, _ in links)


def test_the_allocator_skips_4222_and_ports_already_handed_out() -> None:
    picks = iter([4222, 5000, 5000, 5001, 6000, 6001])
    ports = PortAllocator(lambda: next(picks))

    assert ports.pick() == 5000
    assert ports.pick() == 5001
    assert ports.take(6000) == 6000
    assert ports.pick() == 6001


def test_the_allocator_gives_up_when_nothing_free_comes_back() -> None:
    ports = PortAllocator(lambda: 4222)

    with pytest.raises(RuntimeError, match="free port"):
        ports.pick()


@pytest.mark.parametrize(("host", "expected"), [
    ("0.0.0.0", "127.0.0.1"), ("localhost", "127.0.0.1"), ("10.1.2.3", "10.1.2.3")])
def test_connects_to_wildcard_binds_through_loopback(host: str, expected: str) -> None:
    assert connect_host(host) == expected


def test_services_bound_to_all_interfaces_are_reached_on_loopback() -> None:
    spec = planner('[platform]\nhost = "0.0.0.0"\n[services.a]\n').instance("a", 1)

    assert spec.env["A_HOST"] == "0.0.0.0"
    assert spec.url.startswith("http://127.0.0.1:")


def test_each_instance_gets_its_service_secret_and_identity_its_credentials_and_admin() -> None:
    text = TOPOLOGY + "[services.identity]\ndatabase = true\n"
    picks = counting_picker()
    plan = Planner(parse_topology(text), HOME, PortAllocator(lambda: next(picks)),
                   nats_binary="/bin/nats-server", python="/venv/bin/python",
                   service_secrets={"catalog": "cat-secret", "identity": "id-secret"},
                   bootstrap_admin=DemoUser("admin@souk.local", "admin-password"),
                   signing_key_secret="key-secret")

    catalog, identity = plan.instance("catalog", 2), plan.instance("identity", 1)

    assert catalog.env["CATALOG_SERVICE_SECRET"] == "cat-secret"
    assert not any("BOOTSTRAP" in key or "CREDENTIALS" in key for key in catalog.env)
    assert {key: value for key, value in identity.env.items()
            if key.startswith("IDENTITY_") and key.endswith(("SECRET", "FILE", "EMAIL", "PASSWORD"))
            } == {
        "IDENTITY_SERVICE_SECRET": "id-secret",
        "IDENTITY_SERVICE_CREDENTIALS_FILE": "/srv/souk/secrets/service-credentials.json",
        "IDENTITY_BOOTSTRAP_ADMIN_EMAIL": "admin@souk.local",
        "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": "admin-password",
        "IDENTITY_SIGNING_KEY_SECRET": "key-secret",
    }
    # the registry checks registrations against the same hashes (issue 10, item 4)
    assert plan.instance("registry", 1).env["REGISTRY_SERVICE_CREDENTIALS_FILE"] == (
        "/srv/souk/secrets/service-credentials.json")
    assert "REGISTRY_SIGNING_KEY_SECRET" not in plan.instance("registry", 1).env
    assert "GATEWAY_SERVICE_SECRET" not in plan.instance("gateway", 1).env  # none was given


def test_instances_of_a_service_share_one_fault_folder_under_home() -> None:
    plan = planner()

    first, second = plan.instance("catalog", 1), plan.instance("catalog", 2)

    assert first.env["CATALOG_FAULT_DIR"] == second.env["CATALOG_FAULT_DIR"]
    assert plan.instance("registry", 1).env["REGISTRY_FAULT_DIR"] == "/srv/souk/faults/registry"
    assert HOME.fault_dir("catalog") == HOME.faults / "catalog"


def test_with_telemetry_every_other_service_exports_its_spans_there_at_the_sample_ratio() -> None:
    plan = planner(TOPOLOGY.replace('gateway_port = 8080', 'gateway_port = 8080\ntrace_sample_ratio = 0.5')
                   + "[services.telemetry]\ndatabase = true\n")

    catalog, gateway = plan.instance("catalog", 1), plan.instance("gateway", 2)
    telemetry = plan.instance("telemetry", 1)

    assert catalog.env["CATALOG_OTLP_ENDPOINT"] == telemetry.url
    assert catalog.env["CATALOG_TRACE_SAMPLE_RATIO"] == "0.5"
    assert gateway.env["GATEWAY_OTLP_ENDPOINT"] == telemetry.url
    assert telemetry.url == f"http://127.0.0.1:{plan.port_of('telemetry', 1)}"
    assert not any(key.endswith(("OTLP_ENDPOINT", "TRACE_SAMPLE_RATIO")) for key in telemetry.env)
    assert telemetry.env["TELEMETRY_DATABASE_URL"] == "sqlite:////srv/souk/data/telemetry.db"


def test_without_telemetry_no_service_is_told_to_export_spans() -> None:
    plan = planner(TOPOLOGY + "[services.telemetry]\ninstances = 0\n")

    for spec in (plan.instance("catalog", 1), planner().instance("catalog", 1)):
        assert not any(key.endswith(("OTLP_ENDPOINT", "TRACE_SAMPLE_RATIO")) for key in spec.env)


def test_every_service_is_told_the_same_limits_of_the_shared_stream() -> None:
    plan = planner(TOPOLOGY.replace("gateway_port = 8080",
                                    "gateway_port = 8080\nstream_max_age = 3600"))

    for service, instance in (("registry", 1), ("catalog", 2), ("gateway", 1)):
        env = plan.instance(service, instance).env
        prefix = service.upper()
        assert env[f"{prefix}_STREAM_MAX_AGE"] == "3600.0"
        assert env[f"{prefix}_STREAM_MAX_BYTES"] == str(1 << 30)


PROXIED = TOPOLOGY.replace('gateway_port = 8080\n', 'gateway_port = 8080\nfault_proxies = ["catalog"]\n')


def test_without_fault_proxies_no_proxy_runs_and_services_reach_nats_directly() -> None:
    plan = planner()
    assert plan.fault_proxy() is None
    assert plan.instance("catalog", 1).env["CATALOG_NATS_URL"] == plan.nats_url


def test_a_proxied_service_reaches_the_broker_through_its_own_proxy_port() -> None:
    plan = planner(PROXIED)
    proxy = plan.fault_proxy()
    assert proxy is not None and proxy.instance == "faultproxy-1"
    links = [proxy.argv[i + 1] for i, arg in enumerate(proxy.argv) if arg == "--link"]
    [link] = links
    service, target, port, host, upstream = link.split(":")
    assert (service, target, host, int(upstream)) == ("catalog", "broker", "127.0.0.1",
                                                     plan.nats().port)
    for slot in (1, 2):  # every instance, the same port; restarts keep it
        assert plan.instance("catalog", slot).env["CATALOG_NATS_URL"] == \
            f"nats://127.0.0.1:{port}"
    assert plan.instance("registry", 1).env["REGISTRY_NATS_URL"] == plan.nats_url
    assert str(HOME.net_faults_file) in proxy.argv


def test_a_proxied_postgresql_database_url_points_at_the_proxy() -> None:
    text = PROXIED.replace('env = {CATALOG_PAGE_SIZE = "50"}', 'env = {CATALOG_DATABASE_URL = '
                           '"postgresql://souk:pw@db.internal:6543/catalog?sslmode=disable"}')
    plan = planner(text)
    proxy = plan.fault_proxy()
    assert proxy is not None
    links = [proxy.argv[i + 1] for i, arg in enumerate(proxy.argv) if arg == "--link"]
    database = next(link for link in links if ":database:" in link)
    port = database.split(":")[2]
    assert database.endswith(":db.internal:6543")
    assert plan.instance("catalog", 1).env["CATALOG_DATABASE_URL"] == \
        f"postgresql://souk:pw@127.0.0.1:{port}/catalog?sslmode=disable"


def test_fault_proxies_must_name_services_of_the_topology() -> None:
    from souk.topology import TopologyError

    with pytest.raises(TopologyError, match="unknown services: nosuch"):
        parse_topology(TOPOLOGY.replace('gateway_port = 8080\n',
                                        'gateway_port = 8080\nfault_proxies = ["nosuch"]\n'))


ON_POSTGRES = TOPOLOGY.replace(
    'gateway_port = 8080\n',
    'gateway_port = 8080\npostgres = "postgresql://souk:pw@db.internal:6543/postgres?sslmode=disable"\n')


def test_on_postgres_each_stateful_service_gets_its_own_database_named_after_the_home() -> None:
    from souk.postgres import default_prefix

    plan = planner(ON_POSTGRES)

    prefix = default_prefix(HOME)
    assert prefix.startswith("souk_") and len(prefix) == 15
    assert plan.postgres_databases() == {"registry": f"{prefix}_registry",
                                         "catalog": f"{prefix}_catalog"}
    for slot in (1, 2):  # the instances of a service share its database
        assert plan.instance("catalog", slot).env["CATALOG_DATABASE_URL"] == \
            f"postgresql://souk:pw@db.internal:6543/{prefix}_catalog?sslmode=disable"
    assert "GATEWAY_DATABASE_URL" not in plan.instance("gateway", 1).env


def test_two_homes_on_one_server_never_share_a_database_unless_a_prefix_says_so() -> None:
    other = Planner(parse_topology(ON_POSTGRES), Home(Path("/srv/other")),
                    PortAllocator(lambda: 41000), nats_binary="/bin/nats-server")

    assert planner(ON_POSTGRES).postgres_databases()["catalog"] != \
        other.postgres_databases()["catalog"]
    prefixed = ON_POSTGRES.replace("[platform]\n", '[platform]\npostgres_prefix = "shop"\n')
    assert planner(prefixed).postgres_databases()["catalog"] == "shop_catalog"


def test_a_database_url_of_the_topology_wins_over_the_platform_server() -> None:
    text = ON_POSTGRES.replace('env = {CATALOG_PAGE_SIZE = "50"}',
                               'env = {CATALOG_DATABASE_URL = "sqlite:///elsewhere.db"}')

    assert planner(text).instance("catalog", 1).env["CATALOG_DATABASE_URL"] == \
        "sqlite:///elsewhere.db"


def test_a_proxied_service_reaches_its_platform_database_through_the_proxy() -> None:
    text = ON_POSTGRES.replace("[platform]\n", '[platform]\nfault_proxies = ["catalog"]\n')
    plan = planner(text)
    proxy = plan.fault_proxy()

    assert proxy is not None
    links = [proxy.argv[i + 1] for i, arg in enumerate(proxy.argv) if arg == "--link"]
    database = next(link for link in links if ":database:" in link)
    assert database.startswith("catalog:database:") and database.endswith(":db.internal:6543")
    url = plan.instance("catalog", 1).env["CATALOG_DATABASE_URL"]
    assert url.startswith(f"postgresql://souk:pw@127.0.0.1:{database.split(':')[2]}/souk_")


def test_the_postgres_server_must_be_a_postgresql_url_and_the_prefix_an_identifier() -> None:
    from souk.topology import TopologyError

    with pytest.raises(TopologyError, match=r"platform\.postgres:"):
        parse_topology('[platform]\npostgres = "mysql://x"\n')
    with pytest.raises(TopologyError, match=r"platform\.postgres_prefix"):
        parse_topology('[platform]\npostgres = "postgresql://x"\npostgres_prefix = "Bad-Name"\n')
    assert parse_topology(TOPOLOGY).with_postgres("postgres://h/db").platform.postgres == \
        "postgres://h/db"


def test_the_front_end_is_told_where_the_chaos_experiments_are() -> None:
    plan = planner(TOPOLOGY + "[services.web]\ndatabase = true\n")
    folder = Path(plan.instance("web", 1).env["WEB_CHAOS_EXPERIMENTS"])
    assert folder.parts[-2:] == ("chaos", "experiments") and folder.is_dir()
    assert "CATALOG_CHAOS_EXPERIMENTS" not in plan.instance("catalog", 1).env
