"""A real souk (CLI, supervisor, nats-server) in a temporary home, running stand-in services."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from souk.state import pid_alive

DUMMY_DIR = Path(__file__).parent
Factory = Callable[..., "Souk"]


def dummy_topology(workers: int = 2, worker_module: str = "souk_dummy",
                   registry: bool = True, gateway: bool = True, gateway_port: int = 0,
                   identity: bool = False) -> str:
    """A topology whose services all run ``souk_dummy`` (stdlib, starts in ~0.1 s)."""

    def section(name: str, instances: int, module: str, database: bool) -> str:
        env = f'{{SOUK_DUMMY_SERVICE = "{name}", PYTHONPATH = "{DUMMY_DIR}"}}'
        return (f"[services.{name}]\ninstances = {instances}\nmodule = \"{module}\"\n"
                f"database = {str(database).lower()}\nenv = {env}\n")

    parts = [f'[platform]\nhost = "127.0.0.1"\ngateway_port = {gateway_port}\n']
    if registry:
        parts.append(section("registry", 1, "souk_dummy", True))
    if identity:
        parts.append(section("identity", 1, "souk_dummy", True))
    parts.append(section("worker", workers, worker_module, True))
    if gateway:
        parts.append(section("gateway", 1, "souk_dummy", False))
    return "\n".join(parts)


class Souk:
    """Drives the real ``souk`` command against one home, remembering every pid it saw."""

    def __init__(self, root: Path, topology: str) -> None:
        self.home = root / "home"
        self.topology = root / "souk.toml"
        self.topology.write_text(topology)
        self.seen_pids: set[int] = set()
        self.up_output = ""
        self.up_seconds = 0.0

    def run(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
        env.pop("SOUK_HOME", None)
        return subprocess.run([sys.executable, "-m", "souk.main", *args, "--home", str(self.home)],
                              capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=self.topology.parent, check=False)

    def up(self, *args: str) -> subprocess.CompletedProcess[str]:
        began = time.monotonic()
        result = self.run("up", "--topology", str(self.topology), "--timeout", "30", *args)
        self.up_seconds, self.up_output = time.monotonic() - began, result.stdout
        return result

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.home / "run" / "state.json").read_text())
        self.seen_pids.add(data["supervisor_pid"])
        self.seen_pids.update(p["pid"] for p in data["processes"] if p["pid"])
        return data

    def proc(self, instance: str) -> dict[str, Any]:
        return next(p for p in self.state()["processes"] if p["instance"] == instance)

    def status(self) -> list[dict[str, Any]]:
        result = self.run("status", "--json")
        assert result.returncode == 0, result.stderr
        rows: list[dict[str, Any]] = json.loads(result.stdout)
        return rows

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> float:
        """Seconds until ``condition()`` held; fails the test after ``timeout``."""
        began = time.monotonic()
        while not condition():
            if time.monotonic() - began > timeout:
                pytest.fail(f"{what}: not within {timeout} s; state: {self.state()}")
            time.sleep(0.05)
        return time.monotonic() - began

    def alive(self) -> list[int]:
        return sorted(pid for pid in self.seen_pids if pid_alive(pid))

    def cleanup(self) -> None:
        """``souk down``, then SIGKILL whatever we ever saw that survived (a failed test)."""
        with contextlib.suppress(Exception):
            if (self.home / "run" / "state.json").exists():
                self.state()
            self.run("down", "--timeout", "3", timeout=60)
        for pid in self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def souk_factory(tmp_path: Path) -> Iterator[Factory]:
    """Make Souk drivers in fresh folders; every one is brought down afterwards."""
    made: list[Souk] = []

    def make(**topology: Any) -> Souk:
        root = tmp_path / f"souk{len(made)}"
        root.mkdir()
        made.append(Souk(root, dummy_topology(**topology)))
        return made[-1]

    try:
        yield make
    finally:
        for souk in made:
            souk.cleanup()
