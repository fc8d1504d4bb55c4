"""The faults other commands switch on, each through one small function calling that command
exactly as a user would: ``souk fault …`` (kills, pauses, network faults) and ``souk config set``
(route and consumer faults through the live configuration).

Each network fault and fault key switched on is written down in the run's folder
(``switched-on.json``) before it is switched on, so that the control takes off, at the end of
the run, whatever the run's own rollbacks did not (an interrupted run, a failed one, a
continuous fault cut short)."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
from chaoslib.exceptions import ActivityFailed

from souk.chaos.context import log, work_dir
from souk.home import Home

__all__ = ["config_set", "config_unset", "fault_heal", "fault_kill", "fault_partition",
           "fault_pause", "fault_resume", "fault_slow", "souk", "switch_off_everything"]

TIMEOUT = 120.0
SWITCHED_ON = "switched-on.json"


def _switching_on(home: Home, kind: str, name: str) -> None:
    path = work_dir(home) / SWITCHED_ON
    try:
        noted = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        noted = {}
    if name not in noted.setdefault(kind, []):
        noted[kind].append(name)
        path.write_bytes(orjson.dumps(noted))


def switch_off_everything(home: Home) -> list[str]:
    """Heal the network faults and unset the fault keys this run switched on (those its
    rollbacks took off already are done again, harmlessly); what was taken off."""
    path = work_dir(home) / SWITCHED_ON
    try:
        noted = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return []
    done = []
    for service in noted.get("network", []):
        try:
            fault_heal(home, service)
            done.append(f"network faults of {service}")
        except ActivityFailed as exc:
            log.warning(f"could not heal {service}: {exc}")
    for key in noted.get("config", []):
        try:
            if config_unset(home, key):
                done.append(key)
        except ActivityFailed as exc:
            log.warning(f"could not unset {key}: {exc}")
    path.unlink(missing_ok=True)
    return done


def souk(home: Home, *args: str, timeout: float = TIMEOUT, nothing_to_do: str = "") -> str:
    """Run ``souk ARGS --home HOME``; its output, or ActivityFailed with its error. A refusal
    (exit 2) saying ``nothing_to_do`` is no failure: "" is answered (what was asked holds)."""
    command = [sys.executable, "-m", "souk.main", *args, "--home", str(home.root)]
    log.info("$ souk " + " ".join(args))
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False, env={**os.environ, "NO_COLOR": "1"})
    except subprocess.TimeoutExpired:
        raise ActivityFailed(f"souk {' '.join(args)}: no answer within {timeout:g} s") from None
    if nothing_to_do and done.returncode == 2 and nothing_to_do in done.stderr:
        return ""
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
    _switching_on(home, "network", service)
    return souk(home, "fault", "partition", service, target)


def fault_slow(home: Home, service: str, ms: int, target: str = "broker") -> str:
    _switching_on(home, "network", service)
    return souk(home, "fault", "slow", service, target, "--ms", str(ms))


def fault_heal(home: Home, service: str) -> str:
    return souk(home, "fault", "heal", service)


def config_set(home: Home, key: str, value: object) -> str:
    """``souk config set KEY VALUE`` with ``value`` as JSON."""
    if key.rpartition(".")[2].startswith("fault_"):
        _switching_on(home, "config", key)
    return souk(home, "config", "set", key, orjson.dumps(value).decode())


def config_unset(home: Home, key: str) -> bool:
    """``souk config unset KEY``: the static value (or the platform-wide key) applies again.
    False when nothing was stored (nothing to do)."""
    return bool(souk(home, "config", "unset", key, nothing_to_do="nothing to unset"))
