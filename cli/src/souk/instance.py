"""One supervised process: start it, watch it, probe it, restart it, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from chassis.tasks import cancel_and_wait
from souk.plan import ProcSpec
from souk.procs import backoff_delay, spawn
from souk.state import ProcState, ProcStatus, signal_group

__all__ = ["Instance", "Log"]

EXIT_POLL = 0.05
READY_EVERY, STARTING_EVERY, READY_TIMEOUT = 1.0, 0.1, 0.5
LIVE_EVERY, LIVE_TIMEOUT, LIVE_FAILURES = 1.0, 0.9, 3
# after this long ready, the next crash counts as the first again (restart at once)
STABLE_AFTER = 30.0
# a process that never answered /health/live gets this long before liveness counts against it
LIVE_GRACE = 30.0


class Log(Protocol):
    def __call__(self, level: str, event: str, **fields: Any) -> None: ...


Probe = Callable[[str, float], Awaitable[bool]]


async def _exited(proc: subprocess.Popen[bytes], timeout: float | None = None) -> bool:
    """Wait until ``proc`` exits (True, and reaped) or ``timeout`` passes (False). The supervisor
    keeps no threads and no SIGCHLD watcher: on Linux a pidfd, readable once the process has
    exited, wakes it at once (no wake-ups meanwhile); elsewhere it polls every ``EXIT_POLL``."""
    if proc.poll() is not None:
        return True
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux ≥ 5.3: poll
        return await _polled(proc, timeout)
    loop = asyncio.get_running_loop()
    gone: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not gone.done():
            gone.set_result(None)

    loop.add_reader(pidfd, readable)
    try:
        await asyncio.wait_for(gone, timeout)
    except TimeoutError:
        return proc.poll() is not None
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    proc.wait()  # exited: reaps it at once
    return True


async def _polled(proc: subprocess.Popen[bytes], timeout: float | None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    while proc.poll() is None:
        if deadline is not None and time.monotonic() >= deadline:
            return False
        await asyncio.sleep(EXIT_POLL)
    return True


class Instance:
    """Runs ``spec`` until stopped, restarting it (same port, same id) when it exits or
    stops answering its liveness probe."""

    def __init__(self, spec: ProcSpec, *, cwd: Path, env: Mapping[str, str], probe: Probe,
                 on_change: Callable[[], None], log: Log) -> None:
        self.spec = spec
        self._cwd, self._env, self._probe = cwd, env, probe
        self._on_change, self._log = on_change, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.status: ProcStatus = "starting"
        self.ready = False
        self.ever_ready = False
        self.restarts = 0
        self.crashes = 0
        self.last_exit: int | None = None
        self.started_at: datetime | None = None
        self._started_mono = 0.0
        self._ready_since: float | None = None
        self._answered_at = -math.inf  # monotonic time of its last successful readiness probe
        self._stable = False
        self._stopping = False
        self._stopped = asyncio.Event()
        self._released = asyncio.Event()  # cleared while a restart is held back
        self._released.set()
        self._task: asyncio.Task[None] | None = None
        self.paused_pid: int | None = None  # the pid stopped by SIGSTOP (souk fault pause)
        self.paused_until: float | None = None  # unix time of the SIGCONT to come, if any
        self._resume_task: asyncio.Task[None] | None = None

    @property
    def paused(self) -> bool:
        return self.paused_pid is not None

    @property
    def name(self) -> str:
        return self.spec.instance

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def held(self) -> bool:
        return not self._released.is_set()

    def hold(self, held: bool) -> None:
        """Hold back (True) or allow (False) the restart after the process next exits; the
        running process is left alone (for an outage: hold, then kill it)."""
        if held == self.held:
            return
        if held:
            self._released.clear()
        else:
            self._released.set()
        self._log("info", "restart held back" if held else "restart allowed", process=self.name)
        self._on_change()

    def pause(self, pid: int, until: float | None) -> None:
        """Stop the process (SIGSTOP to its group) if it is still ``pid``; continue it at the
        unix time ``until`` (if given). The liveness probe leaves a paused process alone."""
        if self.proc is None or self.proc.pid != pid or self.proc.poll() is not None:
            return
        if self.paused_pid != pid:
            signal_group(pid, signal.SIGSTOP)
            self.paused_pid = pid
            self._log("warning", "process paused (SIGSTOP)", process=self.name, pid=pid,
                      until=until)
        if until != self.paused_until:
            self.paused_until = until
            if self._resume_task is not None:
                self._resume_task.cancel()
            self._resume_task = None if until is None else asyncio.create_task(
                self._resume_at(until), name=f"resume {self.name}")
        self._set(status="paused", ready=False)
        self._on_change()

    async def _resume_at(self, until: float) -> None:
        await asyncio.sleep(max(0.0, until - time.time()))
        self._resume_task = None
        self.resume()

    def resume(self) -> None:
        """Continue a paused process (SIGCONT)."""
        if self._resume_task is not None:
            self._resume_task.cancel()
            self._resume_task = None
        pid, self.paused_pid, self.paused_until = self.paused_pid, None, None
        if pid is None:
            return
        signal_group(pid, signal.SIGCONT)
        self._log("info", "process resumed (SIGCONT)", process=self.name, pid=pid)
        self._set(status="starting" if not self.ready else "running")
        self._on_change()

    def launch(self) -> None:
        """Start the process and keep it running in a background task."""
        self._task = asyncio.create_task(self._run(), name=f"instance {self.name}")

    async def _run(self) -> None:
        while not self._stopping:
            try:
                self._spawn()
            except OSError as exc:
                self._log("error", "cannot start process", process=self.name, reason=str(exc))
                code = 127
            else:
                code = await self._watch()
            if self._stopping:
                return
            self._count_crash(code)
            delay = backoff_delay(self.crashes)
            self._log("warning", "process exited; restarting", process=self.name,
                      exit_code=code, restarts=self.restarts, delay=delay)
            if delay:
                self._set(status="backoff")
                await asyncio.sleep(delay)
            if self.held:
                self._set(status="held")
                await self._released.wait()

    def _spawn(self) -> None:
        self.proc = spawn(self.spec, self._cwd, self._env)
        self.started_at = datetime.now(UTC)
        self._started_mono = time.monotonic()
        self._ready_since, self._stable, self._answered_at = None, False, -math.inf
        self._set(status="starting", ready=False)
        self._log("info", "process started", process=self.name, pid=self.proc.pid,
                  port=self.spec.port)

    def _count_crash(self, code: int) -> None:
        self.crashes = 1 if self._stable else self.crashes + 1
        self.restarts += 1
        self.last_exit = code

    async def _watch(self) -> int:
        """Wait for the process to exit, probing it meanwhile; return its exit code."""
        assert self.proc is not None
        probes = [asyncio.create_task(self._ready_loop()), asyncio.create_task(self._live_loop())]
        try:
            await _exited(self.proc)
            code = self.proc.returncode
            if self.paused:  # killed while paused: its successor runs
                self.resume()
            # whatever it left in its group (it leads one) would hold its port
            signal_group(self.proc.pid, signal.SIGKILL)
            self._set(ready=False)
            return code
        finally:
            for task in probes:
                task.cancel()
            await asyncio.gather(*probes, return_exceptions=True)

    async def _ready_loop(self) -> None:
        while True:
            ok = await self._probe(self.spec.ready_url, READY_TIMEOUT)
            now = time.monotonic()
            if ok:
                self._answered_at = now
            if ok and self._ready_since is None:
                self._ready_since = now
            elif not ok:
                self._ready_since = None
            if self._ready_since is not None and now - self._ready_since >= STABLE_AFTER:
                self._stable = True
            self._set(ready=ok, status="running" if ok and not self.paused else None)
            self.ever_ready = self.ever_ready or ok
            await asyncio.sleep(READY_EVERY if ok else STARTING_EVERY)

    async def _live_loop(self) -> None:
        failures, seen_live = 0, False
        while True:
            began = time.monotonic()
            if self.paused:  # paused on purpose (souk fault pause): not a hang to cure
                failures = 0
            elif began - self._answered_at < LIVE_EVERY:
                # it answered its readiness probe within the period: alive, no need to ask (a
                # probe fewer a second per process, on the supervisor's side and the process's)
                failures, seen_live = 0, True
            elif await self._probe(self.spec.live_url, LIVE_TIMEOUT):
                failures, seen_live = 0, True
            elif seen_live or began - self._started_mono > LIVE_GRACE:
                failures += 1
                if failures >= LIVE_FAILURES and self.proc is not None:
                    self._log("error", "liveness probe failed; killing", process=self.name,
                              pid=self.proc.pid, failures=failures, url=self.spec.live_url)
                    signal_group(self.proc.pid, signal.SIGKILL)
                    return
            await asyncio.sleep(max(0.0, LIVE_EVERY - (time.monotonic() - began)))

    async def stop(self, timeout: float) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; wait until it is gone."""
        if self._stopping:
            await self._stopped.wait()
            return
        self._stopping = True
        self._set(status="stopping", ready=False)
        proc = self.proc
        if proc is not None and proc.poll() is None:
            signal_group(proc.pid, signal.SIGTERM)
            if self.paused:  # a stopped process acts on SIGTERM only once continued
                self.resume()
            if not await _exited(proc, timeout):
                self._log("warning", "process ignored SIGTERM; killing", process=self.name,
                          pid=proc.pid, timeout=timeout)
                signal_group(proc.pid, signal.SIGKILL)
                await _exited(proc)
            signal_group(proc.pid, signal.SIGKILL)
        await cancel_and_wait(self._task)
        self._set(status="stopped", ready=False)
        self._stopped.set()
        self._log("info", "process stopped", process=self.name,
                  pid=proc.pid if proc else None, exit_code=proc.returncode if proc else None)

    def kill_now(self) -> None:
        """Last resort on the way out: SIGKILL without waiting."""
        if self.proc is not None and self.proc.poll() is None:
            signal_group(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(1)

    def _set(self, *, status: ProcStatus | None = None, ready: bool | None = None) -> None:
        if self._stopping:  # late probe results must not make a stopping process look live
            status = status if status in ("stopping", "stopped") else None
            ready = False if ready is not None else None
        changed = (status is not None and status != self.status) or \
            (ready is not None and ready != self.ready)
        if status is not None:
            self.status = status
        if ready is not None:
            self.ready = ready
        if changed:
            self._on_change()

    def snapshot(self) -> ProcState:
        """This instance as the state file records it."""
        spec = self.spec
        return ProcState(
            service=spec.service, instance=spec.instance, slot=spec.slot,
            pid=self.proc.pid if self.proc else None, port=spec.port, url=spec.url,
            ready_url=spec.ready_url, ready=self.ready, restarts=self.restarts,
            status=self.status, held=self.held, paused=self.paused,
            paused_until=(datetime.fromtimestamp(self.paused_until, UTC).isoformat()
                          if self.paused_until is not None else None),
            log=str(spec.log_file), marker=spec.marker,
            monitor_port=spec.monitor_port,
            started_at=self.started_at.isoformat() if self.started_at else None)
