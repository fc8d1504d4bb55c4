"""Gateway routing cost: the same catalog request direct and through the gateway, in ONE run.

Starts its own platform (`souk up`, one catalog instance so both paths hit the same upstream) in a
temporary home, then measures each target with wrk (closed loop, keep-alive) in interleaved rounds
and prints the median req/s and latency percentiles, and the gateway ÷ direct ratio.

    .venv/bin/python bench/gateway_routing.py [--duration 10] [--connections 32] [--rounds 3]

wrk comes from Debian (`apt-get install wrk`); without it a built-in aiohttp load generator is
used, which costs more CPU on this 2-core machine and so understates both figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
SOUK = [sys.executable, "-m", "souk.main"]


def free_port() -> int:
    from chassis.testing import free_port as fp

    return fp()


def start_platform(home: Path) -> tuple[str, str]:
    gw_port = free_port()
    topology = home / "souk.toml"
    topology.write_text(f"""
[platform]
gateway_port = {gw_port}
[services.registry]
instances = 1
database = true
[services.catalog]
instances = 1
database = true
[services.gateway]
instances = 1
database = false
""")
    subprocess.run([*SOUK, "up", "--home", str(home), "--topology", str(topology)], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    status = json.loads(subprocess.run([*SOUK, "status", "--json", "--home", str(home)],
                                       cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    catalog = next(p["url"] for p in status if p["service"] == "catalog")
    return catalog, f"http://127.0.0.1:{gw_port}"


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, duration: int, connections: int) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url],
                         check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, flags=re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": _ms(lat["50"]), "p99_ms": _ms(lat["99"]),
            "errors": float(errors.group(1)) if errors else 0.0}


async def _python_load(url: str, duration: int, connections: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + duration
    conn = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=conn) as session:
        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                start = time.perf_counter()
                async with session.get(url) as resp:
                    await resp.read()
                    errors += resp.status >= 300
                latencies.append(time.perf_counter() - start)
        await asyncio.gather(*(worker() for _ in range(connections)))
    latencies.sort()
    return {"rps": len(latencies) / duration, "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000, "errors": float(errors)}


def measure(url: str, duration: int, connections: int) -> dict[str, float]:
    if shutil.which("wrk"):
        return run_wrk(url, duration, connections)
    return asyncio.run(_python_load(url, duration, connections))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tool = "wrk" if shutil.which("wrk") else "python-aiohttp (install wrk for better figures)"
    with tempfile.TemporaryDirectory(prefix="souk-bench-") as tmp:
        home = Path(tmp)
        catalog, gateway = start_platform(home)
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
            for _ in range(args.rounds):
                for name, url in targets.items():
                    results[name].append(measure(url, args.duration, args.connections))
        finally:
            subprocess.run([*SOUK, "down", "--home", str(home)], cwd=ROOT,
                           stdout=subprocess.DEVNULL, check=False)
    print(f"\nload generator: {tool}; {args.connections} connections, {args.duration}s x "
          f"{args.rounds} interleaved rounds, medians\n")
    print(f"{'target':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    summary: dict[str, dict[str, float]] = {}
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        summary[name] = med
        print(f"{name:32} {med['rps']:9.0f} {med['p50_ms']:8.2f} {med['p99_ms']:8.2f} "
              f"{med['errors']:8.0f}")
    for endpoint in ("/v1/categories", "/v1/products?limit=20"):
        d, g = summary[f"direct  {endpoint}"], summary[f"gateway {endpoint}"]
        print(f"ratio gateway/direct {endpoint}: {g['rps'] / d['rps']:.2f} "
              f"(added p50 {g['p50_ms'] - d['p50_ms']:+.2f} ms)")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "gateway_routing.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
