"""Runs the real platform with ``souk up`` in a temporary home on free ports."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chassis.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
SOUK = [sys.executable, "-m", "souk.main"]


@dataclass
class Platform:
    home: Path
    gateway: str

    def souk(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*SOUK, *args, "--home", str(self.home)], cwd=ROOT, text=True,
                              capture_output=True, timeout=timeout, env={**os.environ, "NO_COLOR": "1"})
        if check and proc.returncode != 0:
            raise AssertionError(f"souk {' '.join(args)} exited {proc.returncode}\n"
                                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def status(self) -> list[dict[str, Any]]:
        out = self.souk("status", "--json", check=False).stdout
        return list(json.loads(out))

    def process(self, instance: str) -> dict[str, Any]:
        return next(p for p in self.status() if p["instance"] == instance)

    def wait_ready(self, instance: str, *, other_than_pid: int,
                   timeout: float) -> tuple[dict[str, Any], float]:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            proc = self.process(instance)
            if proc["ready"] and proc["pid"] != other_than_pid:
                return proc, time.monotonic() - start
            time.sleep(0.05)
        raise AssertionError(f"{instance} not back and ready within {timeout}s: {self.process(instance)}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


@contextlib.contextmanager
def launch(home: Path, topology_text: str, gateway_port: int) -> Iterator[Platform]:
    """`souk up` a topology in ``home``; `souk down` (and SIGKILL leftovers) afterwards."""
    topology = home / "souk.toml"
    topology.write_text(topology_text)
    plat = Platform(home=home, gateway=f"http://127.0.0.1:{gateway_port}")
    plat.souk("up", "--topology", str(topology), "--timeout", "90", timeout=150)
    try:
        yield plat
    finally:
        pids = [p["pid"] for p in plat.status() if p.get("pid")]
        plat.souk("down", check=False, timeout=60)
        for pid in pids:
            if pid_alive(pid):
                os.kill(pid, 9)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    home = tmp_path_factory.mktemp("souk-home")
    gateway_port = free_port()
    topology_text = (f"""
[platform]
host = "127.0.0.1"
gateway_port = {gateway_port}

[services.registry]
instances = 1
database = true

[services.identity]
instances = 1
database = true

[services.catalog]
instances = 2
database = true

# the front end answers every path outside /api (the gateway's root route)
[services.web]
instances = 1
database = true

[services.gateway]
instances = 1
database = false
""")
    with launch(home, topology_text, gateway_port) as plat:
        yield plat


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium under Playwright for a browser test module (tests/system/web_platform.py;
    the module is skipped, with the reason, where chromium is missing)."""
    from .web_platform import chromium

    with chromium() as launched:
        yield launched
