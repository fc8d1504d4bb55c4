"""Crash points for fault-injection tests: a file in the fault folder kills the process once.

With ``<PREFIX>FAULT_DIR`` set, ``crash_point("consumer.after-commit")`` SIGKILLs the process when
``<fault_dir>/consumer.after-commit`` exists; the file is removed first, so the point fires once
and the restarted process runs on. Without a fault folder a crash point costs one attribute check.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

__all__ = ["FaultPoints"]


class FaultPoints:
    """The crash points of one process."""

    def __init__(self, fault_dir: str | os.PathLike[str] | None) -> None:
        self._dir = Path(fault_dir) if fault_dir else None

    @property
    def enabled(self) -> bool:
        return self._dir is not None

    def crash_point(self, name: str) -> None:
        """SIGKILL this process if the fault ``name`` is armed (once)."""
        if self._dir is None:
            return
        marker = self._dir / name
        try:
            marker.unlink()
        except FileNotFoundError:
            return
        os.kill(os.getpid(), signal.SIGKILL)
