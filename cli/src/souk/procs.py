"""Starting OS processes that log to a file and die with the supervisor, and the restart policy."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from souk.plan import ProcSpec

__all__ = ["backoff_delay", "die_with_parent", "spawn", "spawn_detached"]

_PR_SET_PDEATHSIG = 1
FIRST_BACKOFF = 0.1
MAX_BACKOFF = 10.0


def backoff_delay(crashes: int) -> float:
    """Seconds to wait before restart number ``crashes`` in a row: the first at once, then
    0.1 s doubling up to 10 s."""
    if crashes <= 1:
        return 0.0
    return min(FIRST_BACKOFF * 2.0 ** (crashes - 2), MAX_BACKOFF)


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when its parent dies (Linux only),
    so no service outlives a killed supervisor."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: the child only calls it
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def spawn(spec: ProcSpec, cwd: Path, base_env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start ``spec`` in its own process group with stdout and stderr appended to its log."""
    spec.log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(spec.log_file, "ab") as log:
        return subprocess.Popen(
            spec.argv, cwd=cwd, env={**base_env, **spec.env}, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, process_group=0, preexec_fn=die_with_parent(),
            close_fds=True)


def spawn_detached(argv: list[str], log_file: Path, env: Mapping[str, str] | None = None) -> int:
    """Start ``argv`` in a new session, outliving us, logging to ``log_file``; return its pid.

    ``posix_spawn`` rather than ``Popen``: nothing here will ever wait for it, and a Popen
    object for a process left running warns when collected.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, str(log_file), flags, 0o600),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    return os.posix_spawn(argv[0], argv, dict(os.environ if env is None else env),
                          file_actions=actions, setsid=True)
