"""deploy/ cannot rot silently: the Grafana dashboard parses, every panel queries Prometheus through
the datasource variable, and every metric it names is still defined somewhere in the source."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
import yaml

from .conftest import ROOT

pytestmark = pytest.mark.unit

DASHBOARD = ROOT / "deploy" / "grafana" / "souk-dashboard.json"
PROMETHEUS = ROOT / "deploy" / "prometheus.yml"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

# what issue 5 asks the dashboard to show; dropping a panel for one of these fails here
REQUIRED = {
    "souk_http_requests_total", "souk_http_request_duration_seconds_bucket",
    "souk_saga_outcomes_total", "souk_saga_duration_seconds_bucket",
    "souk_orders_placed_total", "souk_orders_confirmed_total", "souk_orders_cancelled_total",
    "souk_revenue_minor_total", "souk_outbox_pending", "souk_outbox_lag_seconds_bucket",
    "souk_consumer_pending", "souk_consumer_ack_pending", "souk_message_redeliveries_total",
    "souk_dead_letters_total", "souk_breaker_state", "souk_gateway_breaker_state",
    "souk_gateway_rate_limited_total",
}
_METRIC = re.compile(r"\b(?:souk_[a-z0-9_]+|up)\b(?!\s*\()")
_SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def panels() -> list[dict[str, Any]]:
    found = []
    for panel in dashboard()["panels"]:
        found.extend(panel.get("panels", []) if panel["type"] == "row" else [panel])
    return found


def expressions() -> list[str]:
    return [t["expr"] for p in panels() for t in p["targets"]]


def metrics_used() -> set[str]:
    return {m for e in expressions() for m in _METRIC.findall(e)}


@cache
def source_text() -> str:
    files = [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]
    return "\n".join(f.read_text() for f in files)


def declared_name(sample: str) -> str:
    """The name a prometheus_client metric is declared with (it adds the sample suffixes)."""
    for suffix in _SUFFIXES:
        if sample.endswith(suffix):
            return sample.removesuffix(suffix)
    return sample


def test_dashboard_is_a_modern_grafana_dashboard_with_a_prometheus_datasource_variable() -> None:
    dash = dashboard()
    assert dash["schemaVersion"] >= 38
    assert dash["uid"] and dash["title"]
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))


def test_every_panel_has_a_promql_expression_on_the_datasource_variable() -> None:
    assert panels()
    for panel in panels():
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}, panel["title"]


def test_dashboard_shows_every_metric_the_issue_asks_for() -> None:
    assert metrics_used() >= REQUIRED, sorted(REQUIRED - metrics_used())


@pytest.mark.parametrize("metric", sorted(metrics_used() - {"up"}))
def test_every_metric_on_the_dashboard_is_defined_in_the_source(metric: str) -> None:
    name = declared_name(metric)
    assert re.search(rf"""["']{re.escape(name)}["']""", source_text()), (
        f"{metric}: no metric {name!r} is declared under libs/*/src or services/*/src")


def test_prometheus_config_discovers_targets_through_the_registry() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "souk"
    assert job["honor_labels"] is True  # the dashboard's gateway breaker panel relies on it
    (sd,) = job["http_sd_configs"]
    assert sd["url"].endswith("/v1/sd/prometheus")
    assert all(f'job="{job["job_name"]}"' in e for e in expressions() if "up{" in e)
