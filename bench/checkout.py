"""Checkout throughput on the embedded default: confirmed checkouts per second and latency
(POST → terminal state) through the gateway, against a baseline measured in the same run.

Starts the whole platform (`souk up` of the repository's souk.toml, on a free gateway port, in a
temporary home) and drives it with `souk load`'s workload: each simulated customer fills its
cart in one `PUT /api/v1/cart` and checks out with `Prefer: wait` (two gateway requests, one
saga). The baseline is one authenticated request through the gateway (`GET /api/v1/orders?limit=1`, the
same users, the same concurrency, the same Python client), so the ratio says how many simple
edge requests one whole checkout costs. Also printed: each process's CPU per checkout.

    .venv/bin/python bench/checkout.py [--checkouts 3000] [--concurrency 16 64] [--decline-rate 0]
        [--perf]
    .venv/bin/python bench/checkout.py --tracing-compare [--rounds 2] [--sample-ratio 0.1]
    .venv/bin/python bench/checkout.py --postgres-compare [--postgres URL] [--rounds 2]
        [--profile orders] [--perf] [--statements]

`--tracing-compare` measures the same load on the platform without the trace store (tracing off:
no OTLP endpoint anywhere) and with it (every span exported and stored), alternating
platforms round by round, and prints the overhead: from the medians of each mode, and round by
round (each round's traced run against the untraced one just before it, which a machine whose
speed drifts from round to round disturbs less).

`--postgres-compare`: SQLite against PostgreSQL per service, see bench/checkout_postgres.py.

The load generator shares the 2 cores with the platform, as it would on a laptop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))
from _load import ROOT, cpu_of, free_port, own_cpu, running_platform

from souk.load import LoadResult, percentile, run_load


def topology(gateway_port: int, *, tracing: bool = True, sample_ratio: float | None = None) -> str:
    text = (ROOT / "souk.toml").read_text()
    text = text.replace("gateway_port = 8080", f"gateway_port = {gateway_port}")
    if not tracing:  # no trace store: no service gets an OTLP endpoint
        text = re.sub(r"\[services\.telemetry\][^\[]*", "", text)
    elif sample_ratio is not None:  # replaces the shipped value rather than adding a second one
        text = re.sub(r"^trace_sample_ratio\s*=.*$", f"trace_sample_ratio = {sample_ratio}", text,
                      count=1, flags=re.MULTILINE)
    # the benchmark's few users each send hundreds of requests a second
    return text.replace('[services.gateway]\ninstances = 1\ndatabase = false',
                        '[services.gateway]\ninstances = 1\ndatabase = false\n'
                        'env = { GATEWAY_RATE_LIMIT = "1000000/minute" }')


async def baseline(gateway: str, identity: str, concurrency: int, seconds: float) -> dict[str, float]:
    from souk.load import SIGN_UP_CONCURRENCY, _create_user

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency + 8)) as s:
        limit = asyncio.Semaphore(SIGN_UP_CONCURRENCY)  # one for all: identity sheds past its own
        tokens = await asyncio.gather(*(_create_user(s, identity, limit)
                                        for _ in range(concurrency)))
        latencies: list[float] = []
        deadline = time.monotonic() + seconds

        async def work(token: str) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            while time.monotonic() < deadline:
                start = time.perf_counter()
                async with s.get(f"{gateway}/api/v1/orders?limit=1", headers=headers) as r:
                    await r.read()
                    assert r.status == 200, r.status
                latencies.append((time.perf_counter() - start) * 1000)

        began = time.monotonic()
        await asyncio.gather(*(work(t) for t in tokens))
        elapsed = time.monotonic() - began
    latencies.sort()
    return {"per_second": len(latencies) / elapsed, "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99)}


LOADGEN = "load generator"


def one_platform_run(topology_text: str, checkouts: int, concurrency: int,
                     decline_rate: float) -> dict[str, object]:
    with running_platform(topology_text) as platform:
        gateway, identity, pids = platform.gateway, platform.identity, platform.pids
        asyncio.run(run_load(gateway, identity, 300, 16, decline_rate))  # warm-up
        before: dict[str, float] = {}

        def first(state: object, before: dict[str, float] = before) -> None:
            if not before:
                before.update(cpu_of(pids))
                before[LOADGEN] = own_cpu()

        result = asyncio.run(run_load(gateway, identity, checkouts, concurrency,
                                      decline_rate, progress=first))
        after = cpu_of(pids)
        after[LOADGEN] = own_cpu()
    done = max(result.confirmed + result.cancelled - 1, 1)
    per_process = {k: (after[k] - before[k]) * 1000 / done for k in pids}
    return {"load": result.as_json(), "cpu_ms_per_checkout": sum(per_process.values()),
            "per_process": per_process,
            "loadgen_ms_per_checkout": (after[LOADGEN] - before[LOADGEN]) * 1000 / done}


def tracing_compare(args: argparse.Namespace) -> None:
    runs: dict[str, list[dict[str, object]]] = {"off": [], "on": []}
    c = args.concurrency[-1]
    for round_no in range(1, args.rounds + 1):
        for mode in ("off", "on"):
            text = topology(free_port(), tracing=mode == "on", sample_ratio=args.sample_ratio)
            run = one_platform_run(text, args.checkouts, c, args.decline_rate)
            runs[mode].append(run)
            load = run["load"]
            print(f"round {round_no} tracing {mode:3}: {load['per_second']:7.1f} checkouts/s  "  # type: ignore[index]
                  f"p50/p99 {load['latency_ms']['p50']:.0f}/{load['latency_ms']['p99']:.0f} ms  "  # type: ignore[index]
                  f"CPU {run['cpu_ms_per_checkout']:.2f} ms/checkout (load generator "
                  f"{run['loadgen_ms_per_checkout']:.2f} more)", flush=True)
    rate = {m: statistics.median(float(r["load"]["per_second"]) for r in runs[m])  # type: ignore[index]
            for m in runs}
    cpu = {m: statistics.median(float(r["cpu_ms_per_checkout"]) for r in runs[m])  # type: ignore[arg-type]
           for m in runs}
    overhead = 1 - rate["on"] / rate["off"]
    names = sorted({k for r in runs["on"] + runs["off"] for k in r["per_process"]})  # type: ignore[attr-defined]
    deltas = {k: statistics.median(float(r["per_process"].get(k, 0.0)) for r in runs["on"])  # type: ignore[attr-defined]
              - statistics.median(float(r["per_process"].get(k, 0.0)) for r in runs["off"])  # type: ignore[attr-defined]
              for k in names}
    print("CPU per checkout added by tracing, by process (ms): " + ", ".join(
        f"{k} {v:+.2f}" for k, v in sorted(deltas.items(), key=lambda kv: -kv[1]) if abs(v) >= 0.05))
    print(f"\ntracing on ÷ off: throughput {rate['on']:.1f} / {rate['off']:.1f} = "
          f"{rate['on'] / rate['off']:.3f} (overhead {overhead:.1%}; goal ≤ 15 %); "
          f"CPU per checkout {cpu['on']:.2f} / {cpu['off']:.2f} ms "
          f"(+{cpu['on'] / cpu['off'] - 1:.1%}), sample ratio "
          f"{'as shipped' if args.sample_ratio is None else args.sample_ratio}")
    # each round's "on" beside its own "off", run just before it: a machine whose speed drifts
    # between rounds moves both of a pair alike, and the medians of each mode above do not see it
    pairs = [(float(on["load"]["per_second"]) / float(off["load"]["per_second"]),  # type: ignore[index]
              float(on["cpu_ms_per_checkout"]) / float(off["cpu_ms_per_checkout"]))  # type: ignore[arg-type]
             for off, on in zip(runs["off"], runs["on"], strict=True)]
    print("round by round, on ÷ off: throughput " + ", ".join(f"{t:.3f}" for t, _ in pairs)
          + f" (median {statistics.median(t for t, _ in pairs):.3f}); CPU per checkout "
          + ", ".join(f"{c:.3f}" for _, c in pairs)
          + f" (median {statistics.median(c for _, c in pairs):.3f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkouts", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--decline-rate", type=float, default=0.0)
    ap.add_argument("--tracing-compare", action="store_true",
                    help="tracing off vs on, alternating platforms (at the last concurrency)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--sample-ratio", type=float, default=None,
                    help="trace_sample_ratio of the traced platform (default: as souk.toml ships)")
    ap.add_argument("--postgres-compare", action="store_true",
                    help="SQLite vs PostgreSQL per service, alternating platforms (at the last "
                         "concurrency), one instance each, tracing off")
    ap.add_argument("--postgres", metavar="URL", default=None,
                    help="the PostgreSQL server [default: SOUK_TEST_POSTGRES_URL, else "
                         "postgresql://postgres@127.0.0.1:5432/postgres]")
    ap.add_argument("--sqlite-concurrency", type=int, default=None,
                    help="with --postgres-compare: the SQLite platform's concurrency (fewer "
                         "users: about PostgreSQL's throughput, to compare at a similar rate)")
    ap.add_argument("--rate", type=float, default=None,
                    help="with --postgres-compare: an open loop of this many checkouts a second "
                         "on both engines (instead of --checkouts at --concurrency users)")
    ap.add_argument("--seconds", type=float, default=20.0, help="with --rate: how long")
    ap.add_argument("--users", type=int, default=64, help="with --rate: users taking turns")
    ap.add_argument("--profile", metavar="SERVICE", default=None,
                    help="with --postgres-compare: py-spy instance 1 of SERVICE on PostgreSQL")
    ap.add_argument("--statements", action="store_true",
                    help="with --postgres-compare: the server's time in each statement per "
                         "checkout, from pg_stat_statements (the server must preload it)")
    ap.add_argument("--perf", action="store_true",
                    help="profile the whole machine with Linux perf during the load at the last "
                         "concurrency (with --postgres-compare: the first round on each engine): "
                         "CPU by process and by kind of code (bench/machine_profile.py)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = ap.parse_args()
    if args.statements and not args.postgres_compare:
        ap.error("--statements goes with --postgres-compare")
    if args.perf:  # before any platform starts: a machine that cannot is told so at once
        from machine_profile import PerfUnavailable, check_perf

        try:
            check_perf()
        except PerfUnavailable as exc:
            sys.exit(f"checkout.py: {exc}")
    if args.postgres_compare:
        from checkout_postgres import postgres_compare

        postgres_compare(args)
        return
    if args.tracing_compare:
        tracing_compare(args)
        return
    port = free_port()
    results = []
    profile = None
    stack = contextlib.ExitStack()
    if args.perf:
        from machine_profile import MachineProfile

        profile = stack.enter_context(MachineProfile())
    profiled = ""
    with stack, running_platform(topology(port)) as platform:
        gateway = f"http://127.0.0.1:{port}"
        identity, pids = platform.identity, platform.pids
        asyncio.run(run_load(gateway, identity, 300, 16, args.decline_rate))  # warm-up
        for c in args.concurrency:
            base = asyncio.run(baseline(gateway, identity, c, 5.0))
            before: dict[str, float] = {}

            last = profile is not None and c == args.concurrency[-1]

            def first_checkout(state: object, before: dict[str, float] = before,
                               last: bool = last) -> None:
                if not before:  # users are signed up: CPU from here on is checkouts only
                    before.update(cpu_of(pids))
                    before[LOADGEN] = own_cpu()
                    if last and profile is not None:
                        profile.start()

            result: LoadResult = asyncio.run(run_load(
                gateway, identity, args.checkouts, c, args.decline_rate,
                progress=first_checkout))
            if last and profile is not None:
                profile.stop()
                profiled = profile.report({**pids, LOADGEN: os.getpid()})
            after = cpu_of(pids)
            loadgen = own_cpu() - before[LOADGEN]
            done = max(result.confirmed + result.cancelled - 1, 1)
            cpu = {k: (after[k] - before[k]) * 1000 / done for k in pids}
            results.append({"concurrency": c, "load": result.as_json(), "baseline": base,
                            "cpu_ms_per_checkout": cpu,
                            "loadgen_ms_per_checkout": loadgen * 1000 / done})
    ratio = re.search(r"^trace_sample_ratio\s*=\s*([0-9.]+)", topology(0), re.MULTILINE)
    print(f"platform: souk.toml as it is (trace_sample_ratio "
          f"{ratio.group(1) if ratio else 'default 1.0'} with the telemetry service; "
          "see --tracing-compare for tracing off)")
    for r in results:
        load, base = r["load"], r["baseline"]
        lat = load["latency_ms"]
        print(f"\n== concurrency {r['concurrency']}: {load['checkouts']} checkouts "
              f"({load['confirmed']} confirmed, {load['cancelled']} cancelled, "
              f"{load['failed']} failed)")
        if load.get("retries"):  # a shed (503 + Retry-After) or unanswered request sent again
            print(f"  {load['retried']} checkouts sent a request again ({load['retries']} "
                  "requests: 502/503/504 or no answer; their latency includes the wait)")
        print(f"  checkouts/s           {load['per_second']:8.1f}   latency p50/p95/p99 "
              f"{lat['p50']:.0f}/{lat['p95']:.0f}/{lat['p99']:.0f} ms")
        print(f"  baseline GET req/s    {base['per_second']:8.1f}   latency p50/p99 "
              f"{base['p50']:.1f}/{base['p99']:.1f} ms")
        print(f"  ratio checkouts/s ÷ baseline req/s = {load['per_second'] / base['per_second']:.3f}"
              f"   (goal: ≥ 800 checkouts/s with p99 ≤ 200 ms at concurrency 64, on the machine"
              f" of issue 9; bench/machine_factor.py scales it to this one)")
        cpu = sorted(r["cpu_ms_per_checkout"].items(), key=lambda kv: -kv[1])
        total = sum(v for _, v in cpu)
        print(f"  CPU per checkout: {total:.2f} ms in all — " +
              ", ".join(f"{k} {v:.2f}" for k, v in cpu if v >= 0.05))
        print(f"  load generator (same cores, not in the total): "
              f"{r['loadgen_ms_per_checkout']:.2f} ms per checkout")
    if profiled:
        print(f"\n{profiled}")
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
