"""A chaos experiment run by Chaos Toolkit itself (``souk chaos run``, which runs ``chaos run``):
at least 300 checkouts while orders, inventory, payments, the broker, the registry and the
gateway are killed (SIGKILL) one after another, then ``souk verify`` clean, every accepted order
terminal and no duplicate charge — as the experiment's steady state, judged by Chaos Toolkit,
and read back here from its journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from .checkout_platform import Checkout, shared_shop
from .conftest import ROOT, SOUK

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


def _interruptible(path: Path) -> Path:
    """An experiment that switches a route fault and a consumer fault on, then waits, with no
    rollback of its own (as the soaks: their faults are timed inside one action)."""
    def action(name: str, func: str, **arguments: Any) -> dict[str, Any]:
        return {"type": "action", "name": name, "provider": {
            "type": "python", "module": "souk.chaos.actions", "func": func,
            "arguments": arguments}}
    path.write_text(json.dumps({
        "version": "1.0.0", "title": "faults switched on, then a wait",
        "description": "interrupted while it waits",
        "configuration": {"souk_home": {"type": "env", "key": "SOUK_HOME", "default": "var"}},
        "controls": [{"name": "souk", "provider": {"type": "python",
                                                   "module": "souk.chaos.control"}}],
        "method": [action("slow-cart", "slow_route", service="cart", route="*", latency_ms=5),
                   action("slow-inventory", "slow_consumer", service="inventory", latency_ms=5),
                   {"type": "action", "name": "wait",
                    "provider": {"type": "process", "path": "sleep", "arguments": "120"}}],
        "rollbacks": []}))
    return path


def _stored(shop: Checkout, key: str) -> bool:
    return bool(json.loads(shop.souk("config", "get", key, "--json").stdout)["set"])


def test_an_interrupted_experiment_leaves_no_fault_it_switched_on(
        shop: Checkout, tmp_path: Path) -> None:
    """Ctrl-C during the method: Chaos Toolkit's default strategy skipped the rollbacks of an
    interrupted run, and the faults stayed on after it (a checkout load then failed)."""
    journal = tmp_path / "journal.json"
    run = subprocess.Popen([*SOUK, "chaos", "run", str(_interruptible(tmp_path / "e.json")),
                            "--journal", str(journal), "--home", str(shop.platform.home)],
                           text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env={**os.environ, "NO_COLOR": "1"},
                           # as from a shell: a test worker may ignore SIGINT, which a child
                           # would inherit (and then never see the Ctrl-C)
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not (_stored(shop, "cart.fault_routes") and _stored(shop, "inventory.fault_consumers")):
            assert run.poll() is None and time.monotonic() < deadline, "the faults never went on"
            time.sleep(0.5)
        listed = json.loads(shop.souk("fault", "list", "--json").stdout)  # they show as faults
        assert {(row["instance"], row["setting"]) for row in listed["settings"]} >= {
            ("cart-1", "fault_routes"), ("inventory-1", "fault_consumers")}, listed
        run.send_signal(signal.SIGINT)  # to souk alone, as `kill -INT` (a terminal's Ctrl-C too)
        stdout, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate(timeout=30)
    assert run.returncode == 130, stdout[-2000:] + stderr[-2000:]
    assert json.loads(journal.read_text())["status"] == "interrupted"
    assert not _stored(shop, "cart.fault_routes")
    assert not _stored(shop, "inventory.fault_consumers")
    deadline = time.monotonic() + 30  # the instances apply the unset within a second or two
    while json.loads(shop.souk("fault", "list", "--json").stdout)["settings"]:
        assert time.monotonic() < deadline, "the fault settings still run"
        time.sleep(0.5)
