"""Crash points for fault-injection tests: a file in the fault folder kills the process once.

With ``<PREFIX>FAULT_DIR`` set, ``crash_point("consumer.after-commit")`` SIGKILLs the process when
``<fault_dir>/consumer.after-commit`` exists; the file is removed first, so the point fires once
and the restarted process runs on. Without a fault folder a crash point costs one attribute check.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

__all__ = ["FaultPoints"]


class FaultPoints:
    """The crash points of one process. The folder is looked at (one ``stat``) at most every
    ``recheck`` seconds, and only its files are tried: crash points sit on hot paths (every
    message), and a system call per pass showed in profiles."""

    def __init__(self, fault_dir: str | os.PathLike[str] | None, *,
                 recheck: float = 0.05) -> None:
        self._dir = Path(fault_dir) if fault_dir else None
        self._recheck = recheck
        self._checked = -1e9
        self._mtime = -1
        self._armed: frozenset[str] = frozenset()

    @property
    def enabled(self) -> bool:
        return self._dir is not None

    def crash_point(self, name: str) -> None:
        """SIGKILL this process if the fault ``name`` is armed (once)."""
        if self._dir is None:
            return
        now = time.monotonic()
        if now - self._checked >= self._recheck:
            self._checked = now
            self._look()
        if name not in self._armed:
            return
        try:
            (self._dir / name).unlink()
        except FileNotFoundError:
            self._look()
            return
        os.kill(os.getpid(), signal.SIGKILL)

    def _look(self) -> None:
        assert self._dir is not None
        try:
            mtime = self._dir.stat().st_mtime_ns
        except FileNotFoundError:
            self._armed, self._mtime = frozenset(), -1
            return
        if mtime != self._mtime:  # arming or firing a point changes the folder's mtime
            self._mtime = mtime
            self._armed = frozenset(os.listdir(self._dir))
