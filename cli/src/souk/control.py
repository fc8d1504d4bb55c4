"""The CLI's side of the supervisor: start it, wait for it, scale through it, stop it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from souk.home import Home, HomeError
from souk.postgres import POSTGRES_ENV
from souk.procs import spawn_detached
from souk.state import (
    State,
    pid_alive,
    read_json,
    read_state,
    signal_group,
    still_runs,
    updating,
    write_json_atomic,
)
from souk.topology import MAX_INSTANCES, NATS, REGISTRY

__all__ = ["ControlError", "StopReport", "check_services", "parse_scale", "port_in_use", "request_hold",
           "request_scale", "running_pid", "start_supervisor", "starting", "stop_platform", "tell_supervisor",
           "wait_applied", "wait_scaled", "wait_up"]

SUPERVISOR_MARKER = "souk.supervisor"
POLL = 0.1
Progress = Callable[[State | None], None]


class ControlError(Exception):
    """Something the user should read: what failed and, when known, which process."""

    def __init__(self, message: str, instance: str | None = None, log: str | None = None) -> None:
        super().__init__(message)
        self.instance, self.log = instance, log


def running_pid(home: Home) -> int | None:
    """The supervisor's pid when one runs on ``home``, else None."""
    pid = read_json(home.pid_file)
    if not isinstance(pid, int):
        state = read_state(home.state_file)
        pid = state.supervisor_pid if state and state.phase in ("starting", "running") else None
    if pid is not None and still_runs(pid, SUPERVISOR_MARKER):
        return pid
    return None


def port_in_use(host: str, port: int) -> bool:
    """Whether binding ``host:port`` fails right now, the way a server binds it: with
    SO_REUSEADDR, so connections of a previous run lingering in TIME_WAIT do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


@contextlib.contextmanager
def starting(home: Home, timeout: float, waiting: Callable[[], None]) -> Iterator[None]:
    """Hold ``home``'s start lock while one ``souk up`` checks for a running platform, starts
    it and waits for it, or stops what it started: a second ``souk up`` of the same home (two
    terminals, a script) waits here (``waiting()`` is called once), then finds it running.
    Without the lock the second cleared the first's state files and, once its own supervisor
    had refused to run beside the first, stopped the first: neither was left. The kernel drops
    the lock with the process, however it ends."""
    try:
        home.create()
    except HomeError as exc:
        raise ControlError(str(exc)) from None
    # the owner's only, as everything in the home (the CLI runs under the user's umask)
    with open(os.open(home.start_lock, os.O_RDWR | os.O_CREAT, 0o600), "rb") as lock:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    waiting()
                    told = True
                if time.monotonic() > deadline:
                    raise ControlError(f"another souk up has been starting {home.root} for "
                                       f"{timeout:g} s; try again once it is done") from None
                time.sleep(POLL)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def start_supervisor(home: Home, topology: Path, *, gateway_port: int | None,
                     timeout: float, postgres: str | None = None) -> int:
    """Spawn the detached supervisor on a fresh run folder; return its pid. ``postgres`` (a
    server URL, perhaps with a password) goes in its environment, not on its command line."""
    home.create()
    for stale in (home.state_file, home.desired_file, home.hold_file, home.stop_file,
                  home.pid_file, home.pause_file, home.net_faults_file):
        stale.unlink(missing_ok=True)
    argv = [sys.executable, "-m", SUPERVISOR_MARKER, "--home", str(home.root),
            "--topology", str(topology.absolute()), "--timeout", str(timeout)]
    if gateway_port is not None:
        argv += ["--gateway-port", str(gateway_port)]
    env = {key: value for key, value in os.environ.items() if key != POSTGRES_ENV}
    if postgres:
        env[POSTGRES_ENV] = postgres
    return spawn_detached(argv, home.supervisor_log, env)


def _reap(pid: int) -> None:
    # after a failed start the supervisor is our own child: collect it so it is not a zombie
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_up(home: Home, pid: int, timeout: float, progress: Progress) -> State:
    """Wait until every process is ready; raise ControlError naming the culprit otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        _reap(pid)
        state = read_state(home.state_file)
        progress(state)
        if state is not None and state.error is not None:
            raise ControlError(state.error.message, state.error.instance, state.error.log)
        if state is not None and state.phase == "running" and all(
                proc.ready for proc in state.processes):
            return state
        if not pid_alive(pid):
            if state is not None and state.phase == "stopped":
                raise ControlError("stopped during start-up (souk down, or a signal)")
            raise ControlError("the supervisor exited during start-up", "supervisor",
                               str(home.supervisor_log))
        if time.monotonic() > deadline:
            late = next((p for p in state.processes if not p.ready), None) if state else None
            if late is None:
                raise ControlError(f"not ready after {timeout:g} s", "supervisor",
                                   str(home.supervisor_log))
            raise ControlError(f"{late.instance} not ready after {timeout:g} s",
                               late.instance, late.log)
        time.sleep(POLL)


@dataclass
class StopReport:
    """What ``souk down`` found and did."""

    supervisor: int | None = None
    stopped: list[str] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)


def stop_platform(home: Home, timeout: float) -> StopReport:
    """SIGTERM the supervisor and wait; then SIGKILL whatever is still recorded as alive."""
    report = StopReport()
    before = read_state(home.state_file)
    pid = running_pid(home)
    if pid is not None:
        report.supervisor = pid
        write_json_atomic(home.stop_file, {"timeout": timeout})
        os.kill(pid, signal.SIGTERM)
        # five tiers (nats, registry, identity, services, gateway), each allowed `timeout`
        # before SIGKILL, plus slack
        deadline = time.monotonic() + 5 * timeout + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(POLL)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            report.killed.append(f"supervisor (pid {pid})")
        _reap(pid)
    after = read_state(home.state_file)
    seen: set[int] = set()
    for state in (after, before):
        # reversed: the order the supervisor stops them in (gateway first, nats last)
        for proc in reversed(state.processes) if state else []:
            if proc.pid is None or proc.pid in seen:
                continue
            seen.add(proc.pid)
            label = f"{proc.instance} (pid {proc.pid})"
            if still_runs(proc.pid, proc.marker):
                signal_group(proc.pid, signal.SIGKILL)
                report.killed.append(label)
            elif pid is not None:
                report.stopped.append(label)
    home.pid_file.unlink(missing_ok=True)
    return report


def parse_scale(args: list[str]) -> dict[str, int]:
    """``["catalog=3", "cart=1"]`` → ``{"catalog": 3, "cart": 1}``, refusing what cannot be."""
    if not args:
        raise ControlError("say what to scale, e.g. souk scale catalog=3")
    counts: dict[str, int] = {}
    for arg in args:
        service, sep, number = arg.partition("=")
        if not sep or not service:
            raise ControlError(f"{arg!r} is not SERVICE=N (e.g. catalog=3)")
        try:
            count = int(number)
        except ValueError:
            raise ControlError(f"{arg!r}: {number!r} is not a whole number") from None
        if count < 0:
            raise ControlError(f"{arg!r}: an instance count cannot be negative")
        if count > MAX_INSTANCES:
            raise ControlError(f"{arg!r}: at most {MAX_INSTANCES} instances of a service run on "
                               "one machine (each is a process of its own)")
        if service == NATS:
            raise ControlError("nats cannot be scaled while it runs: its nodes are [platform] "
                               "nats_nodes of the topology (1, 3 or 5)")
        if service == REGISTRY and count > 1:
            raise ControlError(f"{service} runs as a single instance; it cannot be scaled to "
                               f"{count}")
        if service in counts:  # the last would win silently: say which was meant
            raise ControlError(f"{service} is given twice ({service}={counts[service]}, "
                               f"{arg}); give each service once")
        counts[service] = count
    return counts


def check_services(state: State, services: Iterable[str]) -> None:
    """Refuse (:class:`ControlError`) the ``services`` the running topology does not have."""
    unknown = sorted(set(services) - set(state.desired))
    if unknown:
        raise ControlError(f"unknown service {', '.join(unknown)}; the topology has "
                           f"{', '.join(state.desired)}")


def request_scale(home: Home, state: State, counts: dict[str, int]) -> None:
    """Write the new desired counts and tell the supervisor (SIGHUP)."""
    check_services(state, counts)
    tell_supervisor(state, home.desired_file, {**state.desired, **counts})


def request_hold(home: Home, state: State, instances: list[str], *, held: bool,
                 timeout: float = 10.0) -> list[str]:
    """Hold back (or allow again) the restarts of ``instances``; tell the supervisor (SIGHUP)
    and wait until it has applied that. Returns every instance held afterwards."""
    known = {proc.instance for proc in state.processes}
    unknown = sorted(set(instances) - known)
    if unknown:
        raise ControlError(f"unknown instance {', '.join(unknown)}; running are "
                           f"{', '.join(sorted(known))}")
    with updating(home.hold_file):
        current = read_json(home.hold_file)
        holds = {name for name in current if isinstance(name, str)} \
            if isinstance(current, list) else set()
        holds = holds | set(instances) if held else holds - set(instances)
        tell_supervisor(state, home.hold_file, sorted(holds))
    wait_applied(home, lambda now: all(proc.held == held for proc in now.processes
                                       if proc.instance in instances),
                 "apply the hold", timeout)
    return sorted(holds)


def tell_supervisor(state: State, request_file: Path, request: object) -> None:
    """Write what the supervisor is asked to apply (it reads ``request_file`` on SIGHUP), then
    send it the SIGHUP."""
    write_json_atomic(request_file, request)
    os.kill(state.supervisor_pid, signal.SIGHUP)


def wait_applied(home: Home, done: Callable[[State], bool], what: str, timeout: float, *,
                 poll: float = POLL) -> State:
    """Wait until the supervisor's state is ``done``: it has applied what it was asked to
    (``what``, for the error when it has not within ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        now = read_state(home.state_file)
        if now is not None and done(now):
            return now
        if now is None or not pid_alive(now.supervisor_pid):
            raise ControlError("the supervisor stopped", "supervisor", str(home.supervisor_log))
        if time.monotonic() > deadline:
            raise ControlError(f"the supervisor did not {what} within {timeout:g} s")
        time.sleep(poll)


def wait_scaled(home: Home, counts: dict[str, int], timeout: float,
                progress: Progress) -> State:
    """Wait until each service has exactly its count of instances, all ready."""
    deadline = time.monotonic() + timeout
    while True:
        state = read_state(home.state_file)
        progress(state)
        if state is not None and all(
                state.desired.get(service) == count
                and len(procs := state.of_service(service)) == count
                and all(p.ready for p in procs) for service, count in counts.items()):
            return state
        if state is None or not pid_alive(state.supervisor_pid):
            raise ControlError("the supervisor stopped while scaling", "supervisor",
                               str(home.supervisor_log))
        if time.monotonic() > deadline:
            raise ControlError(f"scaling did not settle within {timeout:g} s")
        time.sleep(POLL)
