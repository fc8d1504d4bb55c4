"""Background loads: ``souk load``'s workload in a child process (:mod:`souk.chaos.loadrun`),
started by one activity, read and awaited by later ones, logged while it runs.

Each load has a name and a file ``<home>/run/chaos/load-<name>.json`` the child keeps current;
the Chaos Toolkit process keeps the child's handle (to reap it) and a thread that logs its counts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ActivityFailed

from souk.chaos.context import log, wait_for, work_dir
from souk.home import Home
from souk.state import pid_alive, read_json

__all__ = ["every_load", "finish_load", "is_running", "load_file", "read_load", "start_load",
           "stop_every_load", "stop_load", "wait_load"]

LOG_EVERY = 2.0
STARTUP_TIMEOUT = 120.0  # signing the users up (argon2id) takes a while on a busy machine
_children: dict[Path, subprocess.Popen[bytes]] = {}


def load_file(home: Home, name: str) -> Path:
    return work_dir(home) / f"load-{name}.json"


def read_load(home: Home, name: str) -> dict[str, Any] | None:
    data = read_json(load_file(home, name))
    return data if isinstance(data, dict) else None


def _running(data: dict[str, Any] | None) -> bool:
    return (data is not None and data.get("state") in ("starting", "running")
            and pid_alive(int(data.get("pid", 0))))


def is_running(home: Home, name: str) -> bool:
    """Whether the load ``name`` is still running its checkouts."""
    return _running(read_load(home, name))


def _line(name: str, data: dict[str, Any]) -> str:
    p = data.get("progress") or {}
    return (f"load {name}: {p.get('done', 0)} done of {p.get('started', 0)} started "
            f"(at most {p.get('total', data.get('checkouts'))}), "
            f"{p.get('confirmed', 0)} confirmed, {p.get('cancelled', 0)} cancelled, "
            f"{p.get('failed', 0)} failed, {p.get('retried', 0)} retried, "
            f"{p.get('per_second', 0)}/s")


def _follow(home: Home, name: str, child: subprocess.Popen[bytes]) -> None:
    """Log the load's counts every few seconds until it ends; reap the child."""
    while child.poll() is None:
        time.sleep(LOG_EVERY)
        data = read_load(home, name)
        if data is not None and data.get("state") == "running":
            log.info(_line(name, data))
    data = read_load(home, name) or {}
    if data.get("state") == "done":
        r = data["result"]
        log.info(f"load {name} finished: {r['checkouts']} checkouts, {r['confirmed']} confirmed, "
                 f"{r['cancelled']} cancelled, {r['failed']} failed, {r['retried']} retried, "
                 f"p95 {r['latency_ms']['p95']} ms")
    else:
        log.warning(f"load {name} ended without a result: {data.get('error') or child.returncode}")


def start_load(home: Home, name: str, checkouts: int, concurrency: int,
               decline_rate: float) -> dict[str, Any]:
    """Start the load and return once its users are signed up and checkouts run."""
    path = load_file(home, name)
    if _running(read_load(home, name)):
        raise ActivityFailed(f"load {name!r} is already running")
    path.unlink(missing_ok=True)
    with (work_dir(home) / f"load-{name}.log").open("ab") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "souk.chaos.loadrun", str(path), str(home.root),
             str(checkouts), str(concurrency), str(decline_rate)],
            stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True)
    _children[path] = child
    threading.Thread(target=_follow, args=(home, name, child), daemon=True,
                     name=f"souk-load-{name}").start()

    def begun() -> dict[str, Any] | None:
        data = read_load(home, name)
        if child.poll() is not None and (data is None or data.get("state") == "starting"):
            raise ActivityFailed(f"load {name!r} exited {child.returncode} before it began")
        if data is not None and data.get("state") == "error":
            raise ActivityFailed(f"load {name!r} could not start: {data.get('error')}")
        return data if data is not None and data.get("state") in ("running", "done") else None

    wait_for(f"load {name!r} running", begun, STARTUP_TIMEOUT)
    log.info(f"load {name} started: {checkouts} checkouts by {concurrency} users (pid {child.pid})")
    return {"name": name, "pid": child.pid, "checkouts": checkouts, "concurrency": concurrency}


def wait_load(home: Home, name: str, timeout: float) -> dict[str, Any]:
    """The load's result once it has finished (ActivityFailed after ``timeout``)."""
    def finished() -> dict[str, Any] | None:
        data = read_load(home, name)
        if data is None:
            raise ActivityFailed(f"no load {name!r} was started in this run")
        if data.get("state") == "error":
            raise ActivityFailed(f"load {name!r} failed: {data.get('error')}")
        if data.get("state") == "done":
            return dict(data["result"])
        if not _running(data):
            raise ActivityFailed(f"load {name!r} died without a result")
        return None

    return dict(wait_for(f"load {name!r} finished", finished, timeout, every=0.5))


def finish_load(home: Home, name: str, at_least: int, timeout: float) -> dict[str, Any]:
    """Once the load has started ``at_least`` checkouts, have it start no more; its result when
    the checkouts under way have finished."""
    def far_enough() -> bool:
        data = read_load(home, name)
        if not _running(data) or data is None:
            return True
        return int((data.get("progress") or {}).get("started", 0)) >= at_least

    wait_for(f"load {name!r} at {at_least} checkouts", far_enough, timeout, every=0.5)
    data = read_load(home, name)
    if _running(data) and data is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(int(data["pid"]), signal.SIGUSR1)
        log.info(f"load {name}: no more checkouts started; waiting for those under way")
    return wait_load(home, name, timeout)


def stop_load(home: Home, name: str) -> bool:
    """End the load now (True when it was running); its counts so far stay in its file."""
    data = read_load(home, name)
    if not _running(data) or data is None:
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(int(data["pid"]), signal.SIGTERM)  # the child leads its own session
    if (child := _children.pop(load_file(home, name), None)) is not None:
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return True


def every_load(home: Home) -> dict[str, dict[str, Any]]:
    """Every load of this run by name, as its file says now."""
    found = {}
    for path in sorted(work_dir(home).glob("load-*.json")):
        data = read_json(path)
        if isinstance(data, dict):
            found[path.stem.removeprefix("load-")] = data
    return found


def stop_every_load(home: Home) -> list[str]:
    return [name for name in every_load(home) if stop_load(home, name)]
