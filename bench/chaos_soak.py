"""Soak: 10,000 checkouts under continuous faults, run by Chaos Toolkit, with its figures.

Starts a platform of its own (`souk up` of the repository's souk.toml on a free gateway port, in a
temporary home, with the fault proxy), runs `souk chaos run` of
`chaos/experiments/soak-all-faults.json` (kills, pauses, partitions from the broker, slow links and
routes; `--experiment soak` for kills and pauses only), and prints what the journal says: faults
injected, checkouts, failures, latency, violations. Exit 1 unless the hypothesis held.

    .venv/bin/python bench/chaos_soak.py [--experiment soak] [--checkouts 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _load import ROOT, SOUK, free_port, souk_down, souk_up

from souk.chaos.journal import verdict


def topology(gateway_port: int, *, fault_proxies: bool) -> str:
    text = (ROOT / "souk.toml").read_text().replace("gateway_port = 8080",
                                                    f"gateway_port = {gateway_port}")
    if fault_proxies:  # partitions and slow links go through souk fault's proxy
        text = text.replace("[platform]\n", "[platform]\nfault_proxies = true\n", 1)
    # the soak's 16 users each send thousands of requests; the edge's limits are not its subject
    return text.replace('[services.gateway]\ninstances = 1\ndatabase = false',
                        '[services.gateway]\ninstances = 1\ndatabase = false\n'
                        'env = { GATEWAY_RATE_LIMIT = "1000000/minute" }')


def sized(experiment: dict[str, Any], checkouts: int) -> dict[str, Any]:
    """The experiment with its load's size set to ``checkouts``."""
    for activity in experiment["method"]:
        arguments = activity["provider"]["arguments"]
        if activity["provider"]["func"] == "start_load":
            arguments["checkouts"] = checkouts
        elif activity["provider"]["func"] == "finish_load":
            arguments["at_least"] = checkouts
    experiment["title"] = experiment["title"].replace("10,000", f"{checkouts:,}")
    return experiment


def figures(journal: dict[str, Any], seconds: float) -> dict[str, Any]:
    method = {run["activity"]["name"]: run for run in journal["run"]}
    faults = method["inject-faults-while-the-load-runs"]["output"] or {}
    load = method["finish-the-load"]["output"] or {}
    after = {run["activity"]["name"]: run["output"]
             for run in (journal["steady_states"].get("after") or {}).get("probes", [])}
    verify = after.get("souk-verify-clean") or {}
    held = verdict(journal)
    return {"experiment": journal["experiment"]["title"], "held": held.held,
            "reasons": held.reasons, "seconds": round(seconds, 1),
            "faults_injected": faults.get("injected"), "faults_by_kind": faults.get("by_fault"),
            "checkouts": load.get("checkouts"), "confirmed": load.get("confirmed"),
            "cancelled": load.get("cancelled"), "failed": load.get("failed"),
            "retried": load.get("retried"), "latency_ms": load.get("latency_ms"),
            "violations": verify.get("violations"),
            "orders_verified": (verify.get("counts") or {}).get("orders"),
            "not_terminal": (verify.get("counts") or {}).get("not_terminal"),
            "duplicate_charges": after.get("no-duplicate-charge")}


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--experiment", choices=["soak", "soak-all-faults"], default="soak-all-faults")
    ap.add_argument("--checkouts", type=int, default=10_000)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = ap.parse_args()
    name = args.experiment
    with tempfile.TemporaryDirectory(prefix="souk-soak-") as tmp:
        home = Path(tmp)
        path = home / f"{name}.json"
        path.write_text(json.dumps(sized(json.loads(
            (ROOT / "chaos" / "experiments" / f"{name}.json").read_text()), args.checkouts)))
        souk_up(home, topology(free_port(), fault_proxies=True))
        try:
            began = time.monotonic()
            journal = home / "journal.json"
            subprocess.run([*SOUK, "chaos", "run", str(path), "--home", str(home), "--journal",
                            str(journal)], cwd=ROOT, check=False,
                           stdout=subprocess.DEVNULL if args.json else None)
            result = figures(json.loads(journal.read_text()), time.monotonic() - began)
            kept = ROOT / "var" / "chaos" / f"{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(journal, kept)
            result["journal"] = str(kept)
        finally:
            souk_down(home)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"\n{result['experiment']}: {'held' if result['held'] else 'DID NOT HOLD'}")
        for key in ("seconds", "faults_injected", "checkouts", "confirmed", "cancelled", "failed",
                    "retried", "latency_ms", "orders_verified", "not_terminal", "violations",
                    "duplicate_charges", "journal"):
            print(f"  {key:<18} {result[key]}")
        for fault, count in sorted((result["faults_by_kind"] or {}).items()):
            print(f"    {fault:<40} {count}")
        for reason in result["reasons"]:
            print(f"  ! {reason}")
    return 0 if result["held"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
