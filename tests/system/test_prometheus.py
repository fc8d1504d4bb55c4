"""A real Prometheus finds every instance of `souk up` through the registry's HTTP service
discovery (with deploy/prometheus.yml) and scrapes each one's ``/metrics`` (``up == 1``); it
accepts every query of the Grafana dashboard."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chassis.testing import free_port

from .checkout_platform import Checkout, shared_shop
from .conftest import ROOT

pytestmark = pytest.mark.system

DEBIAN_BINARY = Path("/usr/bin/prometheus")


def _prometheus_pids() -> set[int]:
    pids = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if Path(os.readlink(proc / "exe")).name == "prometheus":
                    pids.add(int(proc.name))
            except OSError:
                continue
    return pids


def _install_debian_package() -> str:
    """``apt-get install prometheus``; the reason it could not, or "" when it did. A daemon the
    package's scripts start (on 9090) is stopped: only the binary is wanted."""
    if shutil.which("apt-get") is None:
        return "no apt-get to install the Debian package with"
    if os.geteuid() != 0:
        return "not root, so the Debian package cannot be installed"
    before = _prometheus_pids()
    try:
        proc = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "prometheus"],
                              capture_output=True, text=True, timeout=600,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    except subprocess.TimeoutExpired:
        return "apt-get install prometheus did not finish within 600 s"
    for pid in _prometheus_pids() - before:
        os.kill(pid, 15)
    if proc.returncode != 0:
        return f"apt-get install prometheus failed: {proc.stderr.strip()[-300:]}"
    return ""


@pytest.fixture(scope="module")
def prometheus_binary() -> str:
    found = shutil.which("prometheus") or (str(DEBIAN_BINARY) if DEBIAN_BINARY.exists() else None)
    if found:
        return found
    reason = _install_debian_package()
    found = shutil.which("prometheus") or (str(DEBIAN_BINARY) if DEBIAN_BINARY.exists() else None)
    if not found:
        why = reason or "the Debian package installed none"
        pytest.skip(f"no prometheus binary on PATH or at {DEBIAN_BINARY}, and {why}")
    return found


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Checkout:
    return shared_shop(tmp_path_factory, engine)  # one platform per engine, see SHARED


def scrape_config(registry_url: str) -> str:
    """deploy/prometheus.yml, pointed at this platform's registry and sped up to 1 s."""
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    (job,) = config["scrape_configs"]
    (sd,) = job["http_sd_configs"]
    assert urllib.parse.urlsplit(sd["url"]).path == "/v1/sd/prometheus"
    sd.update(url=f"{registry_url}/v1/sd/prometheus", refresh_interval="1s")
    return str(yaml.safe_dump(config))


@pytest.fixture(scope="module")
def prometheus(prometheus_binary: str, shop: Checkout,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("prometheus")
    config = tmp_path / "prometheus.yml"
    config.write_text(scrape_config(shop.url_of("registry")))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen([prometheus_binary, f"--config.file={config}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
    except urllib.error.HTTPError as exc:
        if exc.code not in (400, 422):  # e.g. 503 while Prometheus is still starting
            raise
        raise AssertionError(f"Prometheus refused {promql}: {exc.read().decode()}") from None
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def wait_for_up(prometheus: str, expected: set[tuple[str, str]],
                timeout: float = 60) -> list[dict[str, Any]]:
    """``up`` once every expected (service, instance) has been scraped successfully."""
    deadline = time.monotonic() + timeout
    series: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            series = query(prometheus, 'up{job="souk"}')
        except OSError:  # still starting
            series = []
        scraped = {(s["metric"].get("service", ""), s["metric"].get("instance", "")): s["value"][1]
                   for s in series}
        if set(scraped) >= expected and all(scraped[k] == "1" for k in expected):
            return series
        time.sleep(0.5)
    raise AssertionError(f"Prometheus did not scrape {sorted(expected)} with up == 1 within "
                         f"{timeout}s; up is {json.dumps(series, indent=1)}")


def http_instances(shop: Checkout) -> set[tuple[str, str]]:
    """(service, instance) of every process serving HTTP (all but nats-server)."""
    return {(p["service"], p["instance"]) for p in shop.platform.status()
            if str(p["url"]).startswith("http")}


def test_prometheus_scrapes_every_instance_found_through_registry_discovery(
        shop: Checkout, prometheus: str) -> None:
    instances = http_instances(shop)
    assert {service for service, _ in instances} >= {
        "registry", "identity", "catalog", "cart", "inventory", "orders", "payments",
        "notifications", "analytics", "gateway"}

    series = wait_for_up(prometheus, instances)

    up = {(s["metric"]["service"], s["metric"]["instance"]): s["value"][1] for s in series}
    assert up == dict.fromkeys(instances, "1")
    assert {s["metric"]["job"] for s in series} == {"souk"}
    assert all(s["metric"]["instance_id"] == s["metric"]["instance"] for s in series)
    # the services' own labels survive the scrape: RED metrics of every service, by service
    red = query(prometheus, "count by (service) (souk_http_requests_total)")
    assert {s["metric"]["service"] for s in red} >= {service for service, _ in instances}


def test_prometheus_accepts_every_query_of_the_grafana_dashboard(
        shop: Checkout, prometheus: str) -> None:
    wait_for_up(prometheus, http_instances(shop))
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "souk-dashboard.json").read_text())
    grafana = {"$__rate_interval": "1m", "$__range": "5m", "$service": ".*"}
    panels = [p for row in dashboard["panels"]
              for p in (row.get("panels", []) if row["type"] == "row" else [row])]
    answered = {}
    for target in (t for p in panels for t in p["targets"]):
        promql = target["expr"]
        for variable, value in grafana.items():
            promql = promql.replace(variable, value)
        answered[target["expr"]] = query(prometheus, promql)
    assert len(answered) >= len(panels)
    assert next(series for expr, series in answered.items() if expr.startswith("up{"))
