"""The deployment files, checked offline with the tools production would use (issue 13, items 3-5):
the generated files are what deploy/generate.py writes from the code today; every kustomize overlay
builds (kubectl kustomize) and validates against the Kubernetes API schemas it targets
(kubernetes-validate, strict); checkov passes the rendered manifests, the Dockerfile and the CI
workflows (skips justified in deploy/checkov.yaml); hadolint passes the Dockerfile; compose.yaml
validates against the Compose specification and the workflows against GitHub's workflow schema
(check-jsonschema's vendored copies); the NetworkPolicies allow exactly the call graph.

A tool that is not installed skips its test with the reason, except under CI (``CI`` set), where
``make test`` has installed every one of them and a missing tool fails instead. kubectl is the
machine's (it is no PyPI package)."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.31.0"  # the API version the manifests target (docs/deploy.md)
VENV_BIN = Path(sys.executable).parent
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def tool(name: str, path: Path | None = None) -> str:
    """The tool's path; skip (or, under CI, fail) when it is not installed."""
    found = str(path) if path and path.is_file() else (
        str(VENV_BIN / name) if (VENV_BIN / name).is_file() else shutil.which(name))
    if found:
        return found
    reason = f"{name} is not installed (make install-tools installs it; kubectl is the machine's)"
    if os.environ.get("CI") and name != "kubectl":
        pytest.fail(f"under CI: {reason}")
    pytest.skip(reason)


def run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"souk_deploy_{name}", DEPLOY / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@cache
def generate() -> ModuleType:
    sys.path.insert(0, str(DEPLOY))  # generate.py imports callgraph from beside it
    return load("generate")


@cache
def rendered(overlay: str) -> str:
    kubectl = tool("kubectl")
    result = run(kubectl, "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay))
    assert result.returncode == 0, result.stderr
    return result.stdout


def documents(overlay: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(rendered(overlay)) if d]


def of_kind(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents(overlay) if d["kind"] == kind}


# -- the generated files are current --------------------------------------------------------------

def test_generated_files_match_the_code_today() -> None:
    assert generate().stale() == [], "run: python deploy/generate.py (or make k8s)"


# -- Kubernetes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_builds_and_validates_against_the_kubernetes_api(overlay: str, tmp_path: Path) -> None:
    manifests = tmp_path / f"{overlay}.yaml"
    manifests.write_text(rendered(overlay))
    validate = tool("kubernetes-validate")
    result = run(validate, "--kubernetes-version", KUBERNETES_VERSION, "--strict", "--quiet",
                 str(manifests))
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = {d["kind"] for d in documents(overlay)}
    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "ConfigMap",
            "Namespace"} <= kinds
    assert ("HorizontalPodAutoscaler" in kinds) == (overlay == "prod")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_runs_hardened_with_probes_and_limits(overlay: str) -> None:
    deployments = of_kind(overlay, "Deployment")
    assert sorted(deployments) == generate().callgraph.service_names()
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        (container,) = pod["containers"]
        # a version tag or a digest: an image loaded into a dev cluster is used as it is
        assert container["imagePullPolicy"] == "IfNotPresent", name
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["capabilities"] == {"drop": ["ALL"]}, name
        for probe, path in (("startupProbe", "/health/live"), ("livenessProbe", "/health/live"),
                            ("readinessProbe", "/health/ready")):
            assert container[probe]["httpGet"]["path"] == path, (name, probe)
        assert set(container["resources"]) == {"requests", "limits"}, name
        assert {"/tmp", "/srv/souk"} <= {m["mountPath"] for m in container["volumeMounts"]}, name
        assert name in of_kind(overlay, "PodDisruptionBudget"), name
        # a pod being replaced still takes the connections kube-proxy sends it for a moment
        (_, seconds) = container["lifecycle"]["preStop"]["exec"]["command"]
        assert 0 < int(seconds) < pod["terminationGracePeriodSeconds"] - 5, name
        # one registry at a time (its state is in its process); the others surge, never dip
        if name == "registry":
            assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        else:
            assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0,
                                                                       "maxSurge": 1}, name


def test_prod_autoscales_the_scalable_services_and_puts_the_gateway_at_the_edge() -> None:
    hpas = of_kind("prod", "HorizontalPodAutoscaler")
    services = generate().callgraph.service_names()
    assert sorted(hpas) == sorted(set(services) - generate().SINGLE)
    assert all(h["spec"]["minReplicas"] >= 2 for h in hpas.values())
    # the HPA alone sets an autoscaled Deployment's replicas (kubectl apply would reset them);
    # the others keep theirs, and dev runs one of each
    for name, deployment in of_kind("prod", "Deployment").items():
        assert ("replicas" in deployment["spec"]) == (name not in hpas), name
        assert name in hpas or deployment["spec"]["replicas"] == 1, name
    assert all(d["spec"]["replicas"] == 1 for d in of_kind("dev", "Deployment").values())
    edge = of_kind("prod", "Service")["gateway"]["spec"]
    assert edge["type"] == "LoadBalancer" and edge["externalTrafficPolicy"] == "Local"
    assert of_kind("dev", "Service")["gateway"]["spec"]["type"] == "ClusterIP"
    others = [s for name, s in of_kind("prod", "Service").items() if name != "gateway"]
    assert all(s["spec"]["type"] == "ClusterIP" for s in others)


def test_prod_seeds_no_demo_data_and_dev_and_compose_do() -> None:
    """The demo catalog and its 100,000 units per SKU (stocked at every inventory start, also for
    a product an admin adds later) stay out of prod; dev and compose keep the demo shop."""
    seeding = {"catalog": "CATALOG_SEED_DEMO", "inventory": "INVENTORY_SEED_FROM_CATALOG"}
    for overlay, expected in (("prod", "false"), ("dev", "true")):
        configs = of_kind(overlay, "ConfigMap")
        for service, key in seeding.items():
            (config,) = [c for name, c in configs.items() if name.startswith(f"{service}-config-")]
            assert config["data"][key] == expected, (overlay, key)
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for service, key in seeding.items():
        assert compose[service]["environment"][key] == "${SOUK_DEMO_DATA:-true}", key


PINNED = "sha256:" + "0123456789abcdef" * 4


def render_with(prod_toml: str, tmp_path: Path) -> list[dict[str, Any]]:
    """The prod overlay as generate.py writes it for this k8s/prod.toml (in tmp_path), built and
    validated against the Kubernetes API."""
    gen = generate()
    gen.write(tmp_path / "deploy", gen.prod_settings(prod_toml))
    result = run(tool("kubectl"), "kustomize", str(tmp_path / "deploy/k8s/overlays/prod"))
    assert result.returncode == 0, result.stderr
    (tmp_path / "prod.yaml").write_text(result.stdout)
    validate = run(tool("kubernetes-validate"), "--kubernetes-version", KUBERNETES_VERSION,
                   "--strict", "--quiet", str(tmp_path / "prod.yaml"))
    assert validate.returncode == 0, validate.stdout + validate.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def test_a_release_pins_prod_images_by_digest_in_prod_toml(tmp_path: Path) -> None:
    """The digests live in k8s/prod.toml (not generated): generate.py writes them into the prod
    overlay, so --check stays clean and regenerating keeps them."""
    docs = render_with(f"""
[images]
registry = "ghcr.io/example/souk"
tag = "0.2.0"
[images.digests]
orders = "{PINNED}"
gateway = "{PINNED}"
""", tmp_path)
    images = {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
              for d in docs if d["kind"] == "Deployment"}
    assert images["orders"] == f"ghcr.io/example/souk/orders:0.2.0@{PINNED}"
    assert images["gateway"] == f"ghcr.io/example/souk/gateway:0.2.0@{PINNED}"
    assert images["cart"] == "ghcr.io/example/souk/cart:0.2.0"  # not pinned: its tag
    # the committed file gives the committed overlay
    assert generate().files(generate().prod_settings()) == generate().files()


@pytest.mark.parametrize(("text", "complaint"), [
    ('[images.digests]\norders = "sha256:abc"', "images.digests.orders"),
    (f'[images.digests]\nshop = "{PINNED}"', "unknown keys ['shop']"),
    ('[images]\nregistry = ""', "images.registry"),
    ('[redis]\nurl = "redis://:hunter2@redis:6379/0"\ncidrs = ["10.0.0.0/8"]', "no password"),
    ('[redis]\nurl = "redis://redis:6379/0"', "say where it runs"),
    ('[redis]\nurl = "unix:///run/redis.sock"\ncidrs = ["10.0.0.0/8"]', "redis.url"),
    ('[release]\n', "unknown tables"),
])
def test_prod_toml_mistakes_stop_the_generator(text: str, complaint: str) -> None:
    with pytest.raises(SystemExit, match=re.escape(complaint)):
        generate().prod_settings(text)


def test_a_configured_redis_reaches_the_gateway_through_its_network_policy(tmp_path: Path) -> None:
    """GATEWAY_REDIS_URL without an egress rule would be dropped by the default deny, and the
    gateway would limit per replica without a word: prod.toml's [redis] gives both."""
    docs = render_with("""
[redis]
url = "redis://redis-master.cache.svc.cluster.local:6380/0"
namespace = "cache"
pod_labels = { "app.kubernetes.io/name" = "redis" }
cidrs = ["10.0.12.0/24"]
""", tmp_path)
    config = next(d for d in docs if d["kind"] == "ConfigMap"
                  and d["metadata"]["name"].startswith("gateway-config-"))
    assert config["data"]["GATEWAY_REDIS_URL"] == "redis://redis-master.cache.svc.cluster.local:6380/0"
    policies = {d["metadata"]["name"]: d for d in docs if d["kind"] == "NetworkPolicy"}
    redis = [rule for rule in policies["gateway"]["spec"]["egress"]
             if rule["ports"] == [{"port": 6380, "protocol": "TCP"}]]
    assert redis == [{"to": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cache"}},
         "podSelector": {"matchLabels": {"app.kubernetes.io/name": "redis"}}},
        {"ipBlock": {"cidr": "10.0.12.0/24"}}], "ports": [{"port": 6380, "protocol": "TCP"}]}]
    committed = of_kind("prod", "NetworkPolicy")["gateway"]["spec"]["egress"]
    assert policies["gateway"]["spec"]["egress"][:-1] == committed  # the call graph's, kept
    for name, policy in policies.items():  # no other service reaches it
        if name != "gateway":
            assert all(rule["ports"] != redis[0]["ports"] for rule in policy["spec"].get("egress", []))
    # the committed prod.toml names no Redis: no URL, no rule (each replica limits on its own)
    assert "GATEWAY_REDIS_URL" not in next(
        c for n, c in of_kind("prod", "ConfigMap").items() if n.startswith("gateway-config-"))["data"]


def test_the_port_forwards_in_the_docs_reach_the_gateway_in_each_overlay() -> None:
    """docs/deploy.md gives a port-forward per overlay: the Service's port there, and the
    container's port for the Deployment (the same in both)."""
    docs = (ROOT / "docs" / "deploy.md").read_text()
    for overlay in OVERLAYS:
        (port,) = of_kind(overlay, "Service")["gateway"]["spec"]["ports"]
        assert f"`svc/gateway 8080:{port['port']}` with {overlay}" in docs, overlay
        (container,) = of_kind(overlay, "Deployment")["gateway"]["spec"]["template"]["spec"]["containers"]
        assert f"port-forward deploy/gateway 8080:{container['ports'][0]['containerPort']}`" in docs


def test_no_secret_value_is_in_the_manifests() -> None:
    for overlay in OVERLAYS:
        assert "Secret" not in {d["kind"] for d in documents(overlay)}
        for config in of_kind(overlay, "ConfigMap").values():
            assert not any(key.endswith(("_SECRET", "_DATABASE_URL", "_PASSWORD"))
                           for key in config["data"]), config["metadata"]["name"]


def test_every_variable_the_manifests_set_is_a_setting_of_that_service() -> None:
    """No invented settings: each <PREFIX>_<FIELD> in a ConfigMap, an env entry or a Secret key is
    a field of the service's settings class."""
    import msgspec

    from chassis.settings import ServiceSettings  # the services' settings classes subclass it

    def fields(service: str) -> set[str]:
        package = importlib.import_module(f"{service}.settings")
        classes = [c for c in vars(package).values() if isinstance(c, type)
                   and issubclass(c, ServiceSettings) and c.__module__ == package.__name__
                   and c.env_prefix() == generate().prefix(service)]
        assert classes, service
        return {f.name.upper() for c in classes for f in msgspec.structs.fields(c)}

    gen = generate()
    for service in gen.callgraph.service_names():
        known, p = fields(service), gen.prefix(service)
        names = [*gen.config(service), *gen.secret_keys(service),
                 *(e["name"] for e in gen.deployment(service)["spec"]["template"]["spec"]
                   ["containers"][0]["env"] if e["name"] != "POD_IP"),
                 *gen.compose_service(service)["environment"]]
        for name in names:
            assert name.startswith(p) and name.removeprefix(p) in known, (service, name)


# -- NetworkPolicies: exactly the call graph --------------------------------------------------------

def _peers(rule: dict[str, Any], key: str) -> set[str]:
    return {peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            for peer in rule.get(key, []) if set(peer) == {"podSelector"}}


def test_network_policies_allow_exactly_the_call_graph() -> None:
    callgraph = generate().callgraph
    policies = of_kind("prod", "NetworkPolicy")
    deny = policies.pop("default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    graph = callgraph.graph()
    assert sorted(policies) == sorted(graph)
    for name, policy in policies.items():
        spec = policy["spec"]
        egress = set().union(*(_peers(rule, "to") for rule in spec["egress"]))
        ingress = set().union(*(_peers(rule, "from") for rule in spec["ingress"]))
        assert egress == set(graph[name].calls), name
        if name == "gateway":  # the edge: one rule with no `from` lets any client in
            assert any("from" not in rule for rule in spec["ingress"])
        else:
            assert all("from" in rule for rule in spec["ingress"]), name
            assert ingress == set(callgraph.callers(name)), name
        data = [peer for rule in spec["egress"] for peer in rule.get("to", [])
                if "namespaceSelector" in peer and peer["namespaceSelector"]["matchLabels"][
                    "kubernetes.io/metadata.name"] == "souk-data"]
        assert {"app.kubernetes.io/name": "nats"} in [p["podSelector"]["matchLabels"] for p in data]
        assert ({"cnpg.io/cluster": "souk-pg"} in [p["podSelector"]["matchLabels"] for p in data]) \
            == graph[name].database, name


def test_known_edges_of_the_call_graph() -> None:
    graph = generate().callgraph.graph()
    assert "catalog" in graph["cart"].calls           # cart prices lines from the catalog
    assert "cart" in graph["orders"].calls            # orders reads the cart at checkout
    assert {"catalog", "orders"} <= graph["inventory"].calls  # seeds stock; asks about sagas
    assert "identity" in graph["web"].calls           # sign up, in and out
    # the front end's pages, through its helper that wraps the client
    assert {"catalog", "inventory", "cart", "orders", "notifications"} <= graph["web"].calls
    # the console: payments' ledger for the invariants (a helper naming the service and a
    # path), the trace store, and every instance's /metrics and messaging status, whatever
    # the registry lists
    assert "console.py" in graph["web"].reasons["payments"]
    assert "console.py" in graph["web"].reasons["telemetry"]
    assert graph["web"].calls == set(graph) - {"web"}
    assert generate().fixed_upstreams("web") == [
        "cart", "catalog", "identity", "inventory", "notifications", "orders", "payments",
        "registry", "telemetry"]  # not the services reached only through the registry's list
    routed = generate().callgraph.routed_services()
    assert set(routed) <= graph["gateway"].calls and "web" in routed and "orders" in routed
    for node in graph.values():  # the chassis's own calls; the three's to their own Service too
        assert {"registry", "identity", "telemetry"} <= node.calls, node.name
    assert "registry" in generate().callgraph.callers("registry")  # its own registration
    assert "payments" not in graph["orders"].calls    # the saga talks to payments over NATS only
    for name in graph:  # what a service reaches by cluster DNS, its NetworkPolicy lets through
        assert set(generate().fixed_upstreams(name)) <= graph[name].calls, name
    assert generate().fixed_upstreams("orders") == ["cart", "identity"]
    assert not graph["gateway"].database and graph["orders"].database


def test_the_call_graph_finds_a_new_client_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The graph is read from the code: a service that starts calling another shows up."""
    callgraph = generate().callgraph
    source = tmp_path / "services" / "cart" / "src" / "cart"
    source.mkdir(parents=True)
    (source / "adapters.py").write_text(
        'ORDERS = "orders"\n\nasync def f(self):\n    await self._client.get(ORDERS, "/v1/x")\n'
        '    await self.client.request("PUT", "payments", "/v1/y")\n'
        '    await self.session.get("inventory", "/not/a/service/client")\n'
        '    await call(self._client, "GET", "catalog", "/v1/products")\n')
    for name in ("orders", "payments", "inventory", "catalog"):
        (tmp_path / "services" / name / "src" / name).mkdir(parents=True)
    monkeypatch.setattr(callgraph, "SERVICES_DIR", tmp_path / "services")
    monkeypatch.setattr(callgraph, "ROOT", tmp_path)
    assert set(callgraph.code_calls("cart")) == {"orders", "payments", "catalog"}
    assert callgraph.any_instance_call("cart") == ""
    # a wrapper of the client (and a wrapper of that) names its service where it is called;
    # a service known only when the code runs is whatever the registry lists
    (source / "console.py").write_text(
        'class Console:\n'
        '    async def _get(self, service, path):\n'
        '        return await self._client.get(service, path)\n'
        '    async def _listing(self, service, path, bearer):\n'
        '        return await self._get(service, path)\n'
        '    async def ledger(self, bearer):\n'
        '        return await self._listing("inventory", "/v1/admin/stock", bearer)\n'
        '    async def scrape(self, inst):\n'
        '        return await self._client.get(inst.service, "/metrics")\n')
    assert set(callgraph.code_calls("cart")) == {"orders", "payments", "catalog", "inventory"}
    assert callgraph.any_instance_call("cart") == "services/cart/src/cart/console.py:9"


# -- containers, compose, CI -------------------------------------------------------------------------

def test_dockerfile_passes_hadolint() -> None:
    result = run(tool("hadolint"), str(DEPLOY / "Dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_non_root_pinned_and_health_checked() -> None:
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()
             if not line.lstrip().startswith("#")]
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert len(bases) == 2 and len(set(bases)) == 1, bases  # build and runtime, one base
    assert "@sha256:" in bases[0] and len(bases[0].rsplit(":", 1)[1]) == 64
    runtime = lines[next(i for i, line in enumerate(lines) if line.endswith("AS runtime")):]
    assert "USER 10001:10001" in runtime
    assert any(line.startswith("HEALTHCHECK") for line in runtime)
    assert "/health/ready" in "\n".join(runtime) and "curl" not in "\n".join(runtime)
    assert not any("apt-get install" in line or "pip install" in line for line in runtime)


def test_compose_file_follows_the_compose_specification() -> None:
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                 str(DEPLOY / "compose.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_every_service_scalable_beside_its_infrastructure() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    souk = generate().callgraph.service_names()
    assert set(souk) | {"postgres", "nats-1", "nats-2", "nats-3", "redis", "prometheus",
                        "grafana", "jaeger"} == set(services)
    for name in souk:
        service = services[name]
        assert "container_name" not in service, name
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
        assert service["build"]["args"] == {"SERVICE": name}, name
        # scalable: no fixed host port (the gateway takes one from a range per replica), and
        # published on loopback only
        for port in service.get("ports", []):
            address, host_ports, _ = port.split(":")
            assert address == "127.0.0.1" and "-" in host_ports, (name, port)
    for node in ("nats-1", "nats-2", "nats-3"):
        command = services[node]["command"]
        assert "--jetstream" in command and "--routes" in command


def test_compose_and_ci_wait_for_the_real_postgresql_server() -> None:
    """The image's init scripts run on a temporary server that listens on the Unix socket only:
    healthy means answering over TCP, where the services connect."""
    postgres = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["postgres"]
    test = postgres["healthcheck"]["test"]
    assert test[:2] == ["CMD", "pg_isready"] and test[test.index("-h") + 1] == "127.0.0.1"
    for workflow in (ROOT / ".github" / "workflows").glob("*.yml"):
        options = yaml.safe_load(workflow.read_text())["jobs"]["test"]["services"]["postgres"]["options"]
        assert '--health-cmd "pg_isready -h 127.0.0.1' in options, workflow.name


def test_compose_creates_the_first_admin_as_a_dev_cluster_does() -> None:
    """identity gets IDENTITY_BOOTSTRAP_ADMIN_* like its Secret in Kubernetes: the dev values of
    `generate.py secrets --dev`, overridable, none of them secret."""
    identity = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["identity"]
    env = identity["environment"]
    (dev,) = [s for s in generate().secret_manifests(dev=True)
              if s["metadata"]["name"] == "souk-identity"]
    for key, variable in (("IDENTITY_BOOTSTRAP_ADMIN_EMAIL", "SOUK_ADMIN_EMAIL"),
                          ("IDENTITY_BOOTSTRAP_ADMIN_PASSWORD", "SOUK_ADMIN_PASSWORD")):
        value = base64.b64decode(dev["data"][key]).decode()
        assert env[key] == f"${{{variable}:-{value}}}", key
    assert "not-a-secret" in env["IDENTITY_BOOTSTRAP_ADMIN_PASSWORD"]


def test_ci_workflows_follow_the_github_workflow_schema() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                 *map(str, workflows))
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_service_has_a_workflow_filtered_to_what_it_is_built_from() -> None:
    workflows = ROOT / ".github" / "workflows"
    for service in generate().callgraph.service_names():
        workflow = yaml.safe_load((workflows / f"{service}.yml").read_text())
        paths = workflow["on"]["pull_request"]["paths"]
        assert {f"services/{service}/**", "libs/chassis/**", "libs/contracts/**"} <= set(paths)
        assert not any(p.startswith("services/") and not p.startswith(f"services/{service}/")
                       for p in paths), service
        steps = {step.get("name"): step for step in workflow["jobs"]["test"]["steps"]}
        assert steps["test"]["run"] == f"make test SERVICE={service}"
        # a pull request's contracts must keep the base branch's peers working
        compat = steps["contracts stay compatible with the base branch"]
        assert "python -m contracts.compat" in compat["run"]
        assert compat["if"] == "github.event_name == 'pull_request'"
    platform = yaml.safe_load((workflows / "platform.yml").read_text())
    assert {s.get("name"): s for s in platform["jobs"]["test"]["steps"]}["test"]["run"] == "make test"


def test_make_test_service_runs_the_service_tests_and_its_contract_tests() -> None:
    callgraph = generate().callgraph
    paths = callgraph.test_paths("orders")
    assert paths[0] == "services/orders/tests"
    assert "libs/contracts/tests/test_wire_format.py" in paths
    assert "libs/contracts/tests/test_payments.py" in paths  # orders speaks payments' messages
    assert "libs/contracts/tests/test_payments.py" not in callgraph.test_paths("cart")
    assert all((ROOT / p).exists() for s in callgraph.service_names() for p in callgraph.test_paths(s))


# -- static policy check -----------------------------------------------------------------------------

def test_checkov_passes_the_manifests_the_dockerfile_and_the_workflows(tmp_path: Path) -> None:
    checkov = tool("checkov", CHECKOV)
    (tmp_path / "k8s").mkdir()
    for overlay in OVERLAYS:
        (tmp_path / "k8s" / f"{overlay}.yaml").write_text(rendered(overlay))
    shutil.copy(DEPLOY / "Dockerfile", tmp_path / "Dockerfile")
    shutil.copytree(ROOT / ".github" / "workflows", tmp_path / ".github" / "workflows")
    result = run(checkov, "--config-file", str(DEPLOY / "checkov.yaml"), "-d", str(tmp_path),
                 "--framework", "kubernetes", "dockerfile", "github_actions", "-o", "json")
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert {r["check_type"] for r in reports} == {"kubernetes", "dockerfile", "github_actions"}
    failed = [(r["check_type"], f["check_id"], f.get("resource"))
              for r in reports for f in r["results"]["failed_checks"]]
    assert failed == [] and result.returncode == 0, failed or result.stderr
    assert all(r["summary"]["passed"] > 0 for r in reports)


def test_the_secrets_script_gives_every_secret_the_manifests_and_charts_refer_to() -> None:
    gen = generate()
    made = list(gen.secret_manifests(dev=False))
    again = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in gen.secret_manifests(False)}
    by_name = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in made}

    def text(secret: dict[str, Any], key: str) -> str:
        return base64.b64decode(secret["data"][key]).decode()

    for name, deployment in of_kind("prod", "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        for ref in [e["secretRef"]["name"] for e in pod["containers"][0]["envFrom"] if "secretRef" in e]:
            secret = by_name[("souk", ref)]
            assert set(secret["data"]) == set(gen.secret_keys(name)), name
            assert secret["data"] != again[("souk", ref)]["data"]  # fresh random values each run
        for volume in pod["volumes"]:
            if "secret" in volume:
                assert ("souk", volume["secret"]["secretName"]) in by_name, name
    hashes = json.loads(text(by_name[("souk", "souk-service-credentials")], "service-credentials.json"))
    for service, digest in hashes.items():
        own = text(by_name[("souk", f"souk-{service}")], f"{service.upper()}_SERVICE_SECRET")
        assert hashlib.sha256(own.encode()).hexdigest() == digest, service
    values = yaml.safe_load((DEPLOY / "k8s" / "charts" / "postgresql-values.yaml").read_text())
    stateful = sorted(n for n, node in gen.callgraph.graph().items() if node.database)
    assert sorted(d["name"] for d in values["databases"]) == stateful
    assert all(d["owner"] == d["name"] for d in values["databases"])
    assert sorted(r["name"] for r in values["cluster"]["roles"]) == stateful
    for role in values["cluster"]["roles"]:
        secret = by_name[("souk-data", role["passwordSecret"]["name"])]
        assert text(secret, "username") == role["name"]
        url = text(by_name[("souk", f"souk-{role['name']}")], f"{role['name'].upper()}_DATABASE_URL")
        assert url.startswith(f"postgresql://{role['name']}:{text(secret, 'password')}@souk-pg-rw.")


def test_the_image_entrypoint_listens_on_8000_and_advertises_the_container_address() -> None:
    entrypoint = load("entrypoint")
    environ: dict[str, str] = {}
    entrypoint.container_defaults("orders", environ)
    assert environ["ORDERS_HOST"] == "0.0.0.0" and environ["ORDERS_PORT"] == "8000"
    assert environ["ORDERS_ADVERTISE_URL"].startswith("http://")
    assert environ["ORDERS_ADVERTISE_URL"].endswith(":8000")
    given = {"GATEWAY_PORT": "9000", "GATEWAY_ADVERTISE_URL": "http://10.0.0.7:9000"}
    entrypoint.container_defaults("gateway", given)
    assert given == {"GATEWAY_PORT": "9000", "GATEWAY_ADVERTISE_URL": "http://10.0.0.7:9000",
                     "GATEWAY_HOST": "0.0.0.0"}
