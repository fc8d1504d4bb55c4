"""A chaos experiment run by Chaos Toolkit itself (``souk chaos run``, which runs ``chaos run``):
at least 300 checkouts while orders, inventory, payments, the broker, the registry and the
gateway are killed (SIGKILL) one after another, then ``souk verify`` clean, every accepted order
terminal and no duplicate charge — as the experiment's steady state, judged by Chaos Toolkit,
and read back here from its journal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .checkout_platform import Checkout, shared_shop
from .conftest import ROOT

pytestmark = pytest.mark.system

EXPERIMENT = ROOT / "chaos" / "experiments" / "kill-everything-short.json"
KILLED = ["orders-1", "inventory-1", "payments-1", "nats-1", "registry-1", "gateway-1"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Checkout:
    return shared_shop(tmp_path_factory, engine)  # one platform per engine, see SHARED


def outputs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {run["activity"]["name"]: run["output"] for run in runs}


def test_checkouts_survive_kills_of_every_critical_process_in_a_chaos_toolkit_experiment(
        shop: Checkout, tmp_path: Path) -> None:
    journal_path = tmp_path / "journal.json"
    proc = shop.souk("chaos", "run", str(EXPERIMENT), "--journal", str(journal_path),
                     timeout=900, check=False)
    assert journal_path.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    journal = json.loads(journal_path.read_text())
    assert "verdict: the hypothesis held" in proc.stdout, proc.stdout[-4000:]
    assert proc.returncode == 0

    assert journal["status"] == "completed" and not journal["deviated"]
    method = {run["activity"]["name"]: run for run in journal["run"]}
    for instance in KILLED:  # each killed while the load ran (the action checks), and back
        kill = method[f"kill-{instance}"]
        assert kill["status"] == "succeeded", kill
        assert kill["output"]["signal"] == "SIGKILL" and kill["output"]["new_pid"] != kill["output"]["pid"]
    load = method["finish-the-load"]["output"]
    assert load["checkouts"] >= 300 and load["failed"] == 0, load
    assert load["confirmed"] + load["cancelled"] == load["checkouts"], load

    after = journal["steady_states"]["after"]
    assert after["steady_state_met"]
    found = outputs(after["probes"])
    assert found["souk-verify-clean"]["violations"] == 0, found["souk-verify-clean"]
    assert found["souk-verify-clean"]["counts"]["not_terminal"] == 0
    assert found["souk-verify-clean"]["counts"]["orders"] >= 300
    assert not found["souk-verify-clean"]["skipped"]
    assert found["no-duplicate-charge"] == 0
    assert found["no-checkout-of-the-load-failed"]["failed"] == 0
    # and the platform agrees outside the experiment
    shop.verify(wait=60)
