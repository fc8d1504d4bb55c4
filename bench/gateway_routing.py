"""Gateway routing cost: the same catalog request direct and through the gateway, in ONE run.

Starts its own platform (`souk up`, one catalog instance so both paths hit the same upstream) in a
temporary home, then measures each target with wrk (closed loop, keep-alive) in interleaved rounds
and prints the median req/s and latency percentiles, and the gateway ÷ direct ratio.

    .venv/bin/python bench/gateway_routing.py [--duration 10] [--connections 32] [--rounds 3]

wrk comes from Debian (`apt-get install wrk`); without it a built-in aiohttp load generator is
used, which costs more CPU on this 2-core machine and so understates both figures.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _load import (
    ROOT,
    cpu_seconds,
    free_port,
    load_options,
    load_tool,
    measure,
    one_catalog_topology,
    souk_down,
    souk_up,
)


def start_platform(home: Path) -> tuple[str, str, int]:
    gw_port = free_port()
    status = souk_up(home, one_catalog_topology(gw_port))
    catalog = next(str(p["url"]) for p in status if p["service"] == "catalog")
    gateway_pid = next(int(p["pid"]) for p in status if p["service"] == "gateway")  # type: ignore[call-overload]
    return catalog, f"http://127.0.0.1:{gw_port}", gateway_pid


def main() -> None:
    args = load_options(__doc__, duration=10).parse_args()
    tool = load_tool()
    with tempfile.TemporaryDirectory(prefix="souk-bench-") as tmp:
        home = Path(tmp)
        catalog, gateway, gateway_pid = start_platform(home)
        try:
            targets = {
                "direct  /v1/categories": f"{catalog}/v1/categories",
                "gateway /v1/categories": f"{gateway}/api/v1/catalog/categories",
                "direct  /v1/products?limit=20": f"{catalog}/v1/products?limit=20",
                "gateway /v1/products?limit=20": f"{gateway}/api/v1/catalog/products?limit=20",
            }
            for url in targets.values():  # warm-up: connections, caches, JIT-free but page cache
                measure(url, 2, args.connections)
            results: dict[str, list[dict[str, float]]] = {k: [] for k in targets}
            unloaded: dict[str, list[dict[str, float]]] = {k: [] for k in targets}
            for _ in range(args.rounds):
                for name, url in targets.items():
                    cpu_before = cpu_seconds(gateway_pid)
                    run = measure(url, args.duration, args.connections)
                    # the gateway's own CPU per proxied request (0 for the direct rows)
                    run["gw_cpu_us"] = ((cpu_seconds(gateway_pid) - cpu_before) * 1e6
                                        / max(run["rps"] * args.duration, 1.0))
                    results[name].append(run)
                    unloaded[name].append(measure(url, max(2, args.duration // 2), 1))
        finally:
            souk_down(home)
    print(f"\nload generator: {tool}; {args.connections} connections, {args.duration}s x "
          f"{args.rounds} interleaved rounds, medians\n")
    print(f"{'target':32} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} "
          f"{'gw CPU µs/req':>13} {'c=1 p50 ms':>10} {'c=1 p99 ms':>10}")
    summary: dict[str, dict[str, float]] = {}
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        one = {k: statistics.median(r[k] for r in unloaded[name]) for k in ("p50_ms", "p99_ms")}
        med["c1_p50_ms"], med["c1_p99_ms"] = one["p50_ms"], one["p99_ms"]
        summary[name] = med
        gw_cpu = f"{med['gw_cpu_us']:13.0f}" if name.startswith("gateway") else f"{'-':>13}"
        print(f"{name:32} {med['rps']:8.0f} {med['p50_ms']:7.2f} {med['p99_ms']:7.2f} "
              f"{med['errors']:7.0f} {gw_cpu} {med['c1_p50_ms']:10.2f} {med['c1_p99_ms']:10.2f}")
    for endpoint in ("/v1/categories", "/v1/products?limit=20"):
        d, g = summary[f"direct  {endpoint}"], summary[f"gateway {endpoint}"]
        print(f"ratio gateway/direct {endpoint}: {g['rps'] / d['rps']:.2f} req/s; "
              f"one hop adds {1000 * (g['c1_p50_ms'] - d['c1_p50_ms']):+.0f} µs p50 unloaded")
    print("\nWith 32 connections the single catalog instance is the bottleneck on both paths, so the"
          "\nreq/s ratio is near 1; the gateway's own cost shows in its CPU per request and in the"
          "\nunloaded (1 connection) latency it adds.")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "gateway_routing.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
