"""The faults other commands switch on, each through one small function calling that command
exactly as a user would: ``souk fault …`` (kills, pauses, network faults) and ``souk config set``
(route and consumer faults through the live configuration)."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
from chaoslib.exceptions import ActivityFailed

from souk.chaos.context import log
from souk.home import Home

__all__ = ["config_set", "fault_heal", "fault_kill", "fault_partition", "fault_pause",
           "fault_resume", "fault_slow", "souk"]

TIMEOUT = 120.0


def souk(home: Home, *args: str, timeout: float = TIMEOUT) -> str:
    """Run ``souk ARGS --home HOME``; its output, or ActivityFailed with its error."""
    command = [sys.executable, "-m", "souk.main", *args, "--home", str(home.root)]
    log.info("$ souk " + " ".join(args))
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False, env={**os.environ, "NO_COLOR": "1"})
    except subprocess.TimeoutExpired:
        raise ActivityFailed(f"souk {' '.join(args)}: no answer within {timeout:g} s") from None
    if done.returncode != 0:
        raise ActivityFailed(f"souk {' '.join(args)} exited {done.returncode}: "
                             f"{(done.stderr or done.stdout).strip()[-2000:]}")
    return done.stdout


def fault_kill(home: Home, instance: str) -> str:
    return souk(home, "fault", "kill", instance)


def fault_pause(home: Home, instance: str, seconds: float) -> str:
    return souk(home, "fault", "pause", instance, "--for", f"{seconds:g}")


def fault_resume(home: Home, instance: str) -> str:
    return souk(home, "fault", "resume", instance)


def fault_partition(home: Home, service: str, target: str = "broker") -> str:
    return souk(home, "fault", "partition", service, target)


def fault_slow(home: Home, service: str, ms: int, target: str = "broker") -> str:
    return souk(home, "fault", "slow", service, target, "--ms", str(ms))


def fault_heal(home: Home, service: str) -> str:
    return souk(home, "fault", "heal", service)


def config_set(home: Home, key: str, value: object) -> str:
    """``souk config set KEY VALUE`` with ``value`` as JSON."""
    return souk(home, "config", "set", key, orjson.dumps(value).decode())
