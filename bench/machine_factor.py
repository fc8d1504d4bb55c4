"""How fast this machine is for issue 9's checkout goal: the code the issue measured, run here.

Issue 9 set its goal (≥ 800 checkouts/s at concurrency 64, souk.toml as shipped) on a machine
where the code of its day ran 143 checkouts/s, and says: if yours runs that code slower, scale
the goal by the same factor. Machines of this kind differ by up to ~2.5 times from day to day, so
the factor is measured in the same invocation as today's code, rounds alternating:

    .venv/bin/python bench/machine_factor.py [--rounds 2] [--checkouts 3000]

The reference code (by default the last commit before the chassis redesign) is exported with
`git archive` into `var/bench-reference/<commit>` and gets a virtualenv of its own there from its
own Makefile (once; later runs reuse it). Each round runs the reference's `bench/checkout.py` and
then this checkout's, one platform at a time, and reads both from their `--json` output. Printed:
each round, the factor (the reference here ÷ the issue's 143/s), the goal scaled by it, and
today's code against the scaled goal.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = "fa5261f"  # the last commit before the chassis redesign (587a1cc): issue 9's code
ISSUE_RATE = 143.0  # what the issue measured that code at, as shipped, concurrency 64
GOAL = 800.0


def prepare(commit: str) -> Path:
    """The reference tree with its virtualenv, made once under var/bench-reference."""
    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
                           cwd=ROOT, capture_output=True, text=True)
    if found.returncode != 0:
        raise SystemExit(f"commit {commit} is not in this clone (a shallow clone? "
                         "`git fetch --unshallow` brings the history)")
    full = found.stdout.strip()
    tree = ROOT / "var" / "bench-reference" / full[:12]
    if not tree.exists():  # exported next to it first, so an interrupted export is never used
        partial = tree.with_name(tree.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = subprocess.Popen(["git", "archive", full], cwd=ROOT, stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(partial)], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise SystemExit(f"git archive {full} failed")
        partial.rename(tree)
    if not (tree / ".venv" / "bin" / "python").exists():
        print(f"installing the reference's virtualenv in {tree} (once) ...", flush=True)
        if subprocess.run(["make", "-s", "install-dev"], cwd=tree, check=False).returncode:
            raise SystemExit(f"the reference's `make install-dev` failed (above); run it again "
                             f"in {tree} once the cause is fixed")
    return tree


def checkouts_per_second(tree: Path, args: argparse.Namespace) -> dict[str, float]:
    """One run of ``tree``'s own checkout benchmark at the goal's concurrency."""
    done = subprocess.run(
        [str(tree / ".venv" / "bin" / "python"), str(tree / "bench" / "checkout.py"),
         "--concurrency", str(args.concurrency), "--checkouts", str(args.checkouts), "--json"],
        cwd=tree, check=False, capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise SystemExit(f"{tree}/bench/checkout.py failed (exit {done.returncode}):\n"
                         f"{(done.stdout + done.stderr)[-3000:]}")
    out = done.stdout
    start = out.rfind("\n[")
    if start < 0:
        raise SystemExit(f"no JSON in the output of {tree}/bench/checkout.py:\n{out[-2000:]}")
    load = json.loads(out[start:])[-1]["load"]
    return {"per_second": float(load["per_second"]), "p99": float(load["latency_ms"]["p99"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default=REFERENCE, help="the commit the issue measured")
    ap.add_argument("--issue-rate", type=float, default=ISSUE_RATE,
                    help="checkouts/s the issue measured the reference at")
    ap.add_argument("--goal", type=float, default=GOAL)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--checkouts", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args()
    if not 1 <= args.rounds <= 10:
        ap.error("--rounds: 1 to 10")
    reference = prepare(args.reference)
    rates: dict[str, list[float]] = {"reference": [], "today": []}
    for round_no in range(1, args.rounds + 1):
        for name, tree in (("reference", reference), ("today", ROOT)):
            run = checkouts_per_second(tree, args)
            rates[name].append(run["per_second"])
            print(f"round {round_no} {name:9}: {run['per_second']:7.1f} checkouts/s  "
                  f"p99 {run['p99']:.0f} ms", flush=True)
    ref, today = statistics.median(rates["reference"]), statistics.median(rates["today"])
    factor = ref / args.issue_rate
    scaled = args.goal * factor
    print(f"\nreference {args.reference} here: {ref:.1f} checkouts/s, the issue's machine "
          f"{args.issue_rate:g}: factor {factor:.2f}")
    print(f"goal {args.goal:g}/s scaled to this machine: {scaled:.0f}/s; today's code "
          f"{today:.1f}/s = {today / scaled:.0%} of it")
    paired = statistics.median(t / r for t, r in zip(rates["today"], rates["reference"],
                                                      strict=True))
    print(f"today ÷ reference on this machine: {today / ref:.2f}x (round by round, median "
          f"{paired:.2f}x); the goal asks {args.goal / args.issue_rate:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
