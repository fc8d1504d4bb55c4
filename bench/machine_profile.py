"""A machine-wide CPU profile of a benchmark's load, with Linux `perf`: where the cores' time went,
by process and by kind of code (the Python interpreter, the kernel, SQLite, C extensions, libc,
nats-server, idle).

py-spy samples one process and counts a process that waits for a core as running, so under a
load that keeps both cores busy its shares are not CPU. `perf record -a` samples what each core
runs, the kernel and native code included, so its shares are. Used by `bench/checkout.py --perf`.

    with MachineProfile() as profile:     # raises PerfUnavailable with the reason (check_perf)
        profile.start()                   # when the measured part begins
        ...                               # the load
        profile.stop()                    # when it ends
    print(profile.report({"orders-1": pid, ...}))
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from types import TracebackType

__all__ = ["MachineProfile", "PerfUnavailable", "check_perf", "kind_of"]

HZ = 499  # samples per second and core; odd, so it does not beat with the services' timers


class PerfUnavailable(RuntimeError):
    """`perf` is missing or may not sample the whole machine."""


def check_perf() -> None:
    """Raise :class:`PerfUnavailable`, with the reason, where ``perf record -a`` cannot run."""
    if shutil.which("perf") is None:
        raise PerfUnavailable("--perf needs Linux perf (Debian: apt-get install linux-perf)")
    paranoid = Path("/proc/sys/kernel/perf_event_paranoid")
    level = int(paranoid.read_text()) if paranoid.exists() else 2
    if os.geteuid() != 0 and level > 0:
        raise PerfUnavailable(f"--perf samples every process: run as root, or set "
                              f"kernel.perf_event_paranoid to 0 (it is {level})")


def kind_of(dso: str) -> str:
    """The kind of code a sample's shared object holds."""
    name = os.path.basename(dso.strip("()"))
    if name.startswith("libpython"):
        return "Python interpreter"
    if name.startswith(("[kernel", "[guest.kernel")):
        return "kernel"
    if name.startswith("libsqlite3"):
        return "SQLite"
    if name.startswith(("libc.so", "libm.so", "ld-linux", "libpthread")) or name == "[vdso]":
        return "libc"
    if name == "nats-server":
        return "nats-server (Go)"
    if name.startswith("postgres"):
        return "PostgreSQL"
    if ".cpython-" in name or name.endswith(".so") or ".so." in name:
        return "C extensions"
    return "other"


class MachineProfile:
    """`perf record -a` between :meth:`start` and the end of the ``with`` block."""

    def __init__(self, hz: int = HZ) -> None:
        self.hz = hz
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.samples: list[tuple[int, str, str, str]] = []  # pid, comm, kind, symbol

    def __enter__(self) -> MachineProfile:
        check_perf()
        self._dir = tempfile.TemporaryDirectory(prefix="souk-perf-")
        return self

    def start(self) -> None:
        """Begin sampling every core (once; later calls do nothing)."""
        if self._proc is not None or self._dir is None:
            return
        self._proc = subprocess.Popen(
            ["perf", "record", "-a", "-F", str(self.hz), "-q", "-o", self._data],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    @property
    def _data(self) -> str:
        assert self._dir is not None
        return str(Path(self._dir.name) / "perf.data")

    def stop(self) -> None:
        """End the sampling and read the samples (once; later calls do nothing)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if proc.returncode not in (0, -signal.SIGINT):
            raise PerfUnavailable(f"perf record failed: {err.decode(errors='replace')}")
        self._read()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if kind is None:
                self.stop()
            elif self._proc is not None:  # a failed run: no report, and no perf left behind
                self._proc.kill()
                self._proc.wait(10)
                self._proc = None
        finally:
            if self._dir is not None:
                self._dir.cleanup()
                self._dir = None

    def _read(self) -> None:
        out = subprocess.run(
            ["perf", "script", "-i", self._data, "-F", "pid,comm,ip,sym,dso"],
            check=True, capture_output=True, text=True, timeout=600).stdout
        for line in out.splitlines():
            # "   comm  PID  IP SYMBOL (DSO)"; a comm may hold spaces, the symbol too
            head, _, dso = line.rpartition(" (")
            parts = head.split()
            pid_at = next((i for i, p in enumerate(parts) if p.isdigit()), None)
            if pid_at is None or len(parts) < pid_at + 2:
                continue
            comm = " ".join(parts[:pid_at])
            symbol = " ".join(parts[pid_at + 2:]) or "[unknown]"
            self.samples.append((int(parts[pid_at]), comm, kind_of(dso.rstrip(")")), symbol))

    def report(self, names: dict[str, int], *, groups: dict[int, str] | None = None,
               top: int = 15) -> str:
        """The profile as text: ``names`` maps a process's name to its pid, ``groups`` more pids
        to a name several share (PostgreSQL's backends); any other process is named by its
        command and "(not Souk's)", pid 0 is idle."""
        if not self.samples:
            return "machine-wide profile: no samples (perf recorded nothing)"
        by_pid = {pid: name for name, pid in names.items()} | (groups or {})
        total = len(self.samples)
        seconds = total / self.hz / (os.cpu_count() or 1)
        per_process: Counter[str] = Counter()
        per_kind: Counter[str] = Counter()
        split: dict[str, Counter[str]] = {}
        symbols: Counter[tuple[str, str]] = Counter()
        for pid, comm, kind, symbol in self.samples:
            name = "idle" if pid == 0 else by_pid.get(pid, f"{comm} (not Souk's)")
            per_process[name] += 1
            if name != "idle":
                per_kind[kind] += 1
                split.setdefault(name, Counter())[kind] += 1
                symbols[(kind, symbol)] += 1

        def pct(n: int) -> str:
            return f"{100 * n / total:.1f}"

        lines = [f"machine-wide profile (perf record -a, {self.hz} Hz a core, {total} samples, "
                 f"~{seconds:.0f} s): % of all the cores' time"]
        lines.append("  by kind of code: " + ", ".join(
            f"{k} {pct(v)}" for k, v in per_kind.most_common())
            + f", idle {pct(per_process['idle'])}")
        lines.append("  by process (its own split by kind):")
        for name, n in per_process.most_common():
            if name == "idle" or 100 * n / total < 0.3:
                continue
            kinds = ", ".join(f"{k} {pct(v)}" for k, v in split[name].most_common(4))
            lines.append(f"    {name:18} {pct(n):>5}   ({kinds})")
        lines.append("  top symbols (outside idle): " + "; ".join(
            f"{symbol} [{kind}] {pct(n)}" for (kind, symbol), n in symbols.most_common(top)))
        return "\n".join(lines)
