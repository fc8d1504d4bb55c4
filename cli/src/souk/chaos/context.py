"""What every activity needs: the platform's home, its state, and the run's own folder."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ActivityFailed

from souk import control
from souk.home import Home
from souk.state import ProcState, State, read_state

__all__ = ["HOME_KEY", "instance_of", "log", "platform_home", "running_state", "wait_for", "work_dir"]

HOME_KEY = "souk_home"
# Chaos Toolkit's own logger: what activities log here shows in `chaos run`'s output and its log
log = logging.getLogger("chaostoolkit")


def platform_home(configuration: Mapping[str, Any] | None) -> Home:
    """The home ``souk up`` started, from the experiment's ``souk_home`` (else ``./var``)."""
    where = (configuration or {}).get(HOME_KEY)
    return Home.resolve(Path(str(where)) if where else None)


def running_state(home: Home) -> State:
    """The supervisor's state, or ActivityFailed when souk is not running there."""
    state = read_state(home.state_file)
    if control.running_pid(home) is None or state is None:
        raise ActivityFailed(f"souk is not running (home {home.root}); start it with souk up")
    return state


def instance_of(home: Home, instance: str) -> ProcState:
    """The process ``instance`` (``orders-1``, ``nats-1``…) as the supervisor last wrote it."""
    for proc in running_state(home).processes:
        if proc.instance == instance:
            return proc
    raise ActivityFailed(f"no instance {instance!r} in {home.state_file}")


def wait_for(what: str, check: Any, timeout: float, every: float = 0.1) -> Any:
    """Poll ``check()`` until it answers something truthy; ActivityFailed after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise ActivityFailed(f"{what}: not within {timeout:g} s")
        time.sleep(every)
    return value


def work_dir(home: Home) -> Path:
    """``<home>/run/chaos``: the background loads and poison messages of the current run."""
    folder = home.run / "chaos"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder
