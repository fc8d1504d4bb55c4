"""The supervisor's state file (``<home>/run/state.json``) and the pid checks around it.

The supervisor rewrites the file atomically on every change; the CLI only reads it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["ErrorInfo", "Phase", "ProcState", "ProcStatus", "State", "looks_like", "pid_alive", "read_json",
           "read_state", "signal_group", "still_runs", "updating", "write_json_atomic"]

Phase = Literal["starting", "running", "stopping", "stopped", "failed"]
ProcStatus = Literal["starting", "running", "backoff", "held", "paused", "stopping", "stopped"]


class ProcState(BaseModel):
    """One supervised process as the supervisor last saw it."""

    model_config = ConfigDict(extra="ignore")

    service: str
    instance: str
    slot: int
    pid: int | None
    port: int
    url: str
    ready_url: str
    ready: bool
    restarts: int
    status: ProcStatus
    held: bool = False  # not restarted when it exits (souk hold)
    paused: bool = False  # stopped by SIGSTOP (souk fault pause)
    paused_until: str | None = None  # when the supervisor sends SIGCONT, if it is to
    started_at: str | None
    log: str
    marker: str = ""
    monitor_port: int | None = None

    def kept_out(self) -> tuple[str, str] | None:
        """Why an operator's act keeps it from answering, and the command that ends it:
        ``("is paused", "souk fault resume X")``, ``("is held and not running", "souk release
        X")``; None when nothing the operator did explains it."""
        if self.paused:
            return "is paused", f"souk fault resume {self.instance}"
        if self.held and self.status != "running":
            return "is held and not running", f"souk release {self.instance}"
        return None


class ErrorInfo(BaseModel):
    """Why start-up failed: the process at fault and what went wrong."""

    instance: str
    message: str
    log: str | None = None


class State(BaseModel):
    """The whole state file."""

    model_config = ConfigDict(extra="ignore")

    supervisor_pid: int
    phase: Phase
    error: ErrorInfo | None = None
    home: str
    topology: str
    nats_url: str  # every node's URL, comma-separated
    stream_replicas: int = 1  # of every stream and key-value bucket ([platform] nats_nodes)
    registry_url: str | None
    gateway_url: str | None
    desired: dict[str, int]
    processes: list[ProcState] = Field(default_factory=list)
    updated_at: str

    def of_service(self, service: str) -> list[ProcState]:
        return [proc for proc in self.processes if proc.service == service]


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one; owner-only,
    as everything in a home."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)


@contextlib.contextmanager
def updating(path: Path) -> Iterator[None]:
    """Hold the lock of ``path`` while it is read, changed and written again: two commands
    changing it at once (two ``souk fault slow``) would otherwise lose one change."""
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and with it the lock


def read_json(path: Path) -> object | None:
    """The parsed file, or None when it is missing or unreadable."""
    try:
        data: object = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data


def read_state(path: Path) -> State | None:
    """The state file, or None when there is none (or it is not one we understand)."""
    data = read_json(path)
    if data is None:
        return None
    try:
        return State.model_validate(data)
    except ValidationError:
        return None


def pid_alive(pid: int) -> bool:
    """True while ``pid`` is a running process (a zombie waiting to be reaped is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except ProcessLookupError:  # it ended since the signal test
        return False
    except OSError:  # gone too, unless this system has no /proc (then only the signal says)
        return not Path("/proc/self").exists()
    # the state letter follows the parenthesised command name, which may itself hold spaces
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def still_runs(pid: int, marker: str) -> bool:
    """Whether ``pid`` runs and is still the process it was (its command line holds
    ``marker``): a pid the system gave to another program since is not."""
    return pid_alive(pid) and looks_like(pid, marker)


def looks_like(pid: int, marker: str) -> bool:
    """Whether ``pid``'s command line contains ``marker`` (True when it cannot be told)."""
    if not marker:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return True
    return marker.encode() in cmdline


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group led by ``pid`` (each child leads its own group),
    falling back to the process alone; a vanished process is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            os.kill(pid, sig)
