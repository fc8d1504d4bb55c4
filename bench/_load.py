"""Shared pieces of the benchmarks: wrk runs, a Python fallback load generator, process CPU,
and starting a Souk platform with `souk up` in a temporary home."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
SOUK = [sys.executable, "-m", "souk.main"]


def load_options(doc: str | None, *, duration: int) -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc``, with what every load benchmark takes:
    ``--duration`` (seconds of each run), ``--connections`` and ``--rounds``."""
    ap = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    ap.add_argument("--duration", type=int, default=duration)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    return ap


def free_port() -> int:
    from chassis.testing import free_port as pick

    return pick()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_of(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process (0 for one that is gone)."""
    out = {}
    for name, pid in pids.items():
        try:
            out[name] = cpu_seconds(pid)
        except OSError:
            out[name] = 0.0
    return out


def own_cpu() -> float:
    """This process's CPU seconds: the load generator shares the cores with the platform."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def souk_up(home: Path, topology: str) -> list[dict[str, object]]:
    """Start a platform from a topology text; return `souk status --json`."""
    path = home / "souk.toml"
    path.write_text(topology)
    subprocess.run([*SOUK, "up", "--home", str(home), "--topology", str(path)], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([*SOUK, "status", "--json", "--home", str(home)], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return list(json.loads(out))


def url_of(status: list[dict[str, object]], service: str) -> str:
    """The URL of ``service``'s first instance in `souk status --json`."""
    return next(str(p["url"]) for p in status if p["service"] == service)


def pids_of(status: list[dict[str, object]]) -> dict[str, int]:
    """Every running instance's pid by instance name, from `souk status --json`."""
    return {str(p["instance"]): int(p["pid"]) for p in status if p.get("pid")}  # type: ignore[call-overload]


def one_catalog_topology(gateway_port: int, gateway_env: str = "") -> str:
    """Registry, one catalog instance (so every path hits the same upstream) and the gateway;
    ``gateway_env`` is a TOML inline-table body such as ``GATEWAY_RATE_LIMIT = "1/second"``."""
    env = f"env = {{ {gateway_env} }}\n" if gateway_env else ""
    return f"""
[platform]
gateway_port = {gateway_port}
[services.registry]
instances = 1
database = true
[services.catalog]
instances = 1
database = true
[services.gateway]
instances = 1
database = false
{env}"""


def souk_down(home: Path) -> None:
    subprocess.run([*SOUK, "down", "--home", str(home)], cwd=ROOT, stdout=subprocess.DEVNULL,
                   check=False)


@dataclass(frozen=True)
class Platform:
    """A platform started by :func:`running_platform`: its home and `souk status --json`."""

    home: Path
    status: list[dict[str, object]]

    @property
    def gateway(self) -> str:
        return url_of(self.status, "gateway")

    @property
    def identity(self) -> str:
        return url_of(self.status, "identity")

    @property
    def pids(self) -> dict[str, int]:
        return pids_of(self.status)


@contextmanager
def running_platform(topology: str, *, purge: bool = False) -> Iterator[Platform]:
    """A platform up from ``topology`` in a temporary home for the block, then down (``purge``:
    its PostgreSQL databases dropped too)."""
    with tempfile.TemporaryDirectory(prefix="souk-bench-") as tmp:
        home = Path(tmp)
        platform = Platform(home, souk_up(home, topology))
        try:
            yield platform
        finally:
            souk_down(home)
            if purge:
                subprocess.run([*SOUK, "down", "--purge", "--home", str(home)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, check=False)


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def run_wrk(url: str, duration: int, connections: int,
            headers: dict[str, str] | None = None, cpu: int | None = None) -> dict[str, float]:
    """One wrk run (pinned to ``cpu`` with taskset when given)."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if cpu is not None:
        args = ["taskset", "-c", str(cpu), *args]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], check=True, capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, flags=re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if rps is None or "50" not in lat:
        raise RuntimeError(f"could not read wrk output:\n{out}")
    return {"rps": float(rps.group(1)), "p50_ms": _ms(lat["50"]), "p99_ms": _ms(lat["99"]),
            "errors": float(errors.group(1)) if errors else 0.0}


async def _python_load(url: str, duration: int, connections: int,
                       headers: dict[str, str] | None) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + duration
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections),
                                     headers=headers) as session:
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


def load_tool() -> str:
    return "wrk" if shutil.which("wrk") else "python-aiohttp (install wrk for better figures)"


def measure(url: str, duration: int, connections: int,
            headers: dict[str, str] | None = None, cpu: int | None = None) -> dict[str, float]:
    """Closed-loop load against one URL; wrk when installed (pinned to ``cpu`` when given)."""
    if shutil.which("wrk"):
        return run_wrk(url, duration, connections, headers, cpu)
    return asyncio.run(_python_load(url, duration, connections, headers))
