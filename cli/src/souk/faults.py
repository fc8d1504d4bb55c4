"""``souk fault``: break the running platform on purpose, and heal it.

Processes (any of them, nats-1, the registry, the gateway and the fault proxy included):
``kill`` sends SIGKILL to the instance's process group (the supervisor restarts it unless held);
``pause`` sends SIGSTOP through the supervisor, which also sends the SIGCONT when ``--for``
runs out (so the pause ends on time even if this command's process is gone) or on ``resume``.
Network, through the fault proxy (``[platform] fault_proxies``): ``partition`` cuts a service's
connections to the broker (or its PostgreSQL) and refuses new ones, ``slow`` delays every byte
both ways by ``--ms``, ``heal`` ends both.
"""

from __future__ import annotations

import asyncio
import signal
import time
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from souk import control
from souk.console import HomeOption, command_group, fail, out, running_state
from souk.control import ControlError
from souk.home import Home
from souk.plan import BROKER, DATABASE
from souk.state import (
    ProcState,
    State,
    read_json,
    signal_group,
    still_runs,
    updating,
    write_json_atomic,
)
from souk.topology import FAULT_PROXY

__all__ = ["kill_instance", "net_faults", "register", "request_pause", "request_resume",
           "set_net_fault"]

TARGETS = (BROKER, DATABASE)
POLL = 0.05
PROXY_NEEDED = ("network faults go through the fault proxy, which this platform does not run: "
                "set fault_proxies = true (or a list of services) under [platform] in the "
                "topology, then souk down and souk up")


def _instance(state: State, name: str) -> ProcState:
    for proc in state.processes:
        if proc.instance == name:
            return proc
    raise ControlError(f"unknown instance {name}; running are "
                       f"{', '.join(p.instance for p in state.processes)}")


def _alive_pid(proc: ProcState) -> int:
    if proc.pid is None or not still_runs(proc.pid, proc.marker):
        raise ControlError(f"{proc.instance} has no running process now ({proc.status})")
    return proc.pid


def kill_instance(state: State, name: str) -> int:
    """SIGKILL ``name``'s process group; return the pid killed."""
    pid = _alive_pid(_instance(state, name))
    signal_group(pid, signal.SIGKILL)
    return pid


def _pauses(home: Home) -> dict[str, Any]:
    data = read_json(home.pause_file)
    return dict(data) if isinstance(data, dict) else {}


def request_pause(home: Home, state: State, name: str, seconds: float | None, *,
                  timeout: float = 10.0) -> int:
    """Have the supervisor SIGSTOP ``name`` (and SIGCONT it after ``seconds``, if given); wait
    until it has; return the pid paused."""
    pid = _alive_pid(_instance(state, name))
    until = None if seconds is None else time.time() + seconds
    with updating(home.pause_file):
        control.tell_supervisor(state, home.pause_file,
                                {**_pauses(home), name: {"pid": pid, "until": until}})

    def paused(now: State) -> bool:
        proc = next((p for p in now.processes if p.instance == name), None)
        return proc is None or proc.pid != pid or proc.paused or (
            until is not None and time.time() >= until)

    control.wait_applied(home, paused, "pause it", timeout, poll=POLL)
    return pid


def request_resume(home: Home, state: State, name: str, *, timeout: float = 10.0) -> bool:
    """Have the supervisor SIGCONT ``name``; wait until it has. False when it was not paused
    (nothing done: what a resume is for holds already)."""
    proc = _instance(state, name)
    with updating(home.pause_file):
        pauses = _pauses(home)
        asked = pauses.get(name)
        # a pause asked of a process that is gone (killed, restarted) paused nothing now
        if not proc.paused and (asked is None or not isinstance(asked, dict)
                                or asked.get("pid") != proc.pid):
            if asked is not None:
                pauses.pop(name)
                write_json_atomic(home.pause_file, pauses)
            return False
        pauses.pop(name, None)
        control.tell_supervisor(state, home.pause_file, pauses)
    control.wait_applied(
        home, lambda now: not any(p.paused for p in now.processes if p.instance == name),
        "resume it", timeout, poll=POLL)
    return True


def _get(url: str) -> dict[str, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as answer:
        data: dict[str, Any] = orjson.loads(answer.read())
        return data


def net_faults(state: State) -> tuple[str, dict[str, Any]]:
    """The fault proxy's URL and what it says: its links and the revision it applied."""
    proxy = next((p for p in state.processes if p.service == FAULT_PROXY), None)
    if proxy is None:
        raise ControlError(PROXY_NEEDED)
    try:
        return proxy.url, _get(proxy.url + "/v1/links")
    except OSError as exc:
        raise ControlError(f"the fault proxy does not answer ({exc}); souk status shows it as "
                           f"{proxy.instance}") from None


def set_net_fault(home: Home, state: State, service: str | None, target: str | None,
                  fault: dict[str, Any] | None, *, timeout: float = 10.0) -> dict[str, Any]:
    """Switch a network fault on (``fault``) or off (None) between ``service`` and ``target``
    (every target when None; every service too when ``service`` is None); wait until the proxy
    applies it; return what the proxy then says."""
    url, now = net_faults(state)
    links = {(link["service"], link["target"]) for link in now["links"]}
    if service is not None and target is not None and (service, target) not in links:
        if not any(s == service for s, _ in links):
            raise ControlError(f"{service} is not behind the fault proxy; fault_proxies under "
                               "[platform] names the services that are")
        if target == DATABASE:
            raise ControlError(f"{service}'s database is not reached over the network: a SQLite "
                               "file has nothing to cut or slow; database network faults need "
                               f"PostgreSQL ({service.upper()}_DATABASE_URL=postgresql://… in "
                               "the service's env in the topology)")
        raise ControlError(f"no link from {service} to {target}")
    with updating(home.net_faults_file):
        data = read_json(home.net_faults_file)
        current = data if isinstance(data, dict) else {}
        faults: dict[str, dict[str, Any]] = dict(current.get("faults") or {})
        if fault is not None and service is not None and target is not None:
            faults[service] = {**faults.get(service, {}), target: fault}
        elif service is None:
            faults = {}
        elif target is None:
            faults.pop(service, None)
        else:
            faults[service] = {t: f for t, f in faults.get(service, {}).items() if t != target}
        rev = max(int(current.get("rev", 0)), int(now["rev"])) + 1
        write_json_atomic(home.net_faults_file, {"rev": rev, "faults": {
            name: targets for name, targets in faults.items() if targets}})
    deadline = time.monotonic() + timeout
    while True:
        answer = _get(url + "/v1/links")
        if int(answer["rev"]) >= rev:
            return answer
        if time.monotonic() > deadline:
            raise ControlError(f"the fault proxy did not apply the change within {timeout:g} s")
        time.sleep(POLL)


# -- the commands ----------------------------------------------------------------------------

fault_app = command_group("Break the running platform on purpose (and heal it).")
InstanceArg = Annotated[str, typer.Argument(help="an instance as souk status names it (orders-1, "
                                                 "nats-1, gateway-1 …)", show_default=False)]
ServiceArg = Annotated[str, typer.Argument(help="a service behind the fault proxy",
                                           show_default=False)]
TargetArg = Annotated[str, typer.Argument(help="broker or database", show_default=False)]


def register(app: typer.Typer) -> None:
    """Add ``souk fault …`` to ``app``."""
    app.add_typer(fault_app, name="fault")


def _running(home: Path | None) -> tuple[Home, State]:
    where = Home.resolve(home)
    return where, running_state(where)


def _target(target: str) -> str:
    if target not in TARGETS:
        raise fail(f"{target!r} is not a target: broker or database", 2)
    return target


@fault_app.command()
def kill(instance: InstanceArg, home: HomeOption = None) -> None:
    """SIGKILL an instance (the supervisor restarts it, unless held: souk hold)."""
    _, state = _running(home)
    try:
        pid = kill_instance(state, instance)
    except ControlError as exc:
        raise fail(str(exc), 2) from None
    out.print(f"killed {instance} (pid {pid})")


@fault_app.command()
def pause(instance: InstanceArg, seconds: Annotated[float | None, typer.Option(
        "--for", min=0.1, help="resume after this many seconds (the supervisor does it)")] = None,
          home: HomeOption = None) -> None:
    """SIGSTOP an instance: alive but unresponsive, until souk fault resume or --for."""
    where, state = _running(home)
    try:
        pid = request_pause(where, state, instance, seconds)
    except ControlError as exc:
        raise fail(str(exc), 2) from None
    until = f" for {seconds:g} s" if seconds is not None else "; souk fault resume to end it"
    out.print(f"paused {instance} (pid {pid}){until}")


@fault_app.command()
def resume(instance: InstanceArg, home: HomeOption = None) -> None:
    """SIGCONT a paused instance (one that is not paused is left as it is, and said so)."""
    where, state = _running(home)
    try:
        resumed = request_resume(where, state, instance)
    except ControlError as exc:
        raise fail(str(exc), 2) from None
    if resumed:
        out.print(f"resumed {instance}")
        return
    kept = _instance(state, instance).kept_out()  # not paused: held, if anything
    out.print(f"{instance} was not paused: nothing to resume"
              + (f" (it {kept[0]}: {kept[1]})" if kept is not None else ""))


@fault_app.command()
def partition(service: ServiceArg, target: TargetArg, home: HomeOption = None) -> None:
    """Cut SERVICE from the broker or its database: open connections closed, new ones refused."""
    where, state = _running(home)
    try:
        set_net_fault(where, state, service, _target(target), {"mode": "partition"})
    except ControlError as exc:
        raise fail(str(exc), 2) from None
    out.print(f"{service} is cut from the {target}; souk fault heal {service} ends it")


@fault_app.command()
def slow(service: ServiceArg, target: TargetArg,
         ms: Annotated[float, typer.Option("--ms", min=0.0, max=60_000.0,
                                           help="delay added each way, milliseconds")],
         home: HomeOption = None) -> None:
    """Delay every byte between SERVICE and the broker or its database by --ms, each way."""
    where, state = _running(home)
    try:
        set_net_fault(where, state, service, _target(target), {"mode": "slow", "ms": ms})
    except ControlError as exc:
        raise fail(str(exc), 2) from None
    out.print(f"{service} ↔ {target} delayed by {ms:g} ms each way; souk fault heal {service} "
              "ends it")


@fault_app.command()
def heal(service: Annotated[str | None, typer.Argument(
        help="the service to heal; every one when left out", show_default=False)] = None,
         home: HomeOption = None) -> None:
    """End the network faults of SERVICE (of every service when left out)."""
    where, state = _running(home)
    try:
        control.check_services(state, [service] if service is not None else [])
        if not any(p.service == FAULT_PROXY for p in state.processes):
            # no proxy, no network fault: a heal (a chaos rollback's, a script's) undoes nothing
            out.print("nothing to heal: without the fault proxy no network fault can be on")
            return
        set_net_fault(where, state, service, None, None)
    except ControlError as exc:
        raise fail(str(exc), 2) from None
    out.print(f"healed {service or 'every service'}")


@fault_app.command("list")
def list_faults(json: Annotated[bool, typer.Option("--json", help="print JSON only")] = False,
                home: HomeOption = None) -> None:
    """The faults on now: paused and held instances, network faults, and the fault settings
    instances run with (route and consumer rules, clock skews: `souk config`)."""
    _, state = _running(home)
    paused = [{"instance": p.instance, "pid": p.pid, "until": p.paused_until}
              for p in state.processes if p.paused]
    held = [p.instance for p in state.processes if p.held]
    try:
        network = [link for link in net_faults(state)[1]["links"] if link["fault"]]
    except ControlError:
        network = []
    settings, unknown = _fault_settings(state)
    if json:
        out.print(orjson.dumps({"paused": paused, "held": held, "network": network,
                                "settings": settings, "settings_unknown": unknown}).decode(),
                  markup=False)
        return
    for row in paused:
        out.print(f"paused  {row['instance']} (pid {row['pid']})"
                  + (f" until {row['until']}" if row["until"] else ""))
    for instance in held:
        out.print(f"held    {instance} (not restarted: souk release {instance})")
    for link in network:
        fault = link["fault"]
        out.print(f"network {link['service']} → {link['target']}: {fault['mode']}"
                  + (f" {fault['ms']:g} ms" if fault["mode"] == "slow" else ""))
    for row in settings:
        out.print(f"setting {row['instance']} runs {row['setting']} = "
                  f"{orjson.dumps(row['value']).decode()}", markup=False)
    if unknown:
        out.print(f"[yellow]{unknown}[/]")
    if not (paused or held or network or settings):
        out.print("no fault is on" + (" that souk could see" if unknown else ""))


FAULT_SETTINGS = ("fault_routes", "fault_consumers", "clock_skew")


def _fault_settings(state: State) -> tuple[list[dict[str, Any]], str]:
    """The fault settings (``FAULT_SETTINGS``) each running instance runs with, when not off;
    and why they are not known, when they are not (the broker away)."""
    from souk.live_config import store_of

    async def read() -> list[dict[str, Any]]:
        async with store_of(state) as store:
            docs = await store.docs()
        return [{"instance": instance, "setting": name, "value": value}
                for service in sorted(docs)
                for instance, published in sorted(docs[service].instances.items())
                for name in FAULT_SETTINGS
                if (value := published.get("running", {}).get(name))]

    try:
        return asyncio.run(asyncio.wait_for(read(), 10)), ""
    except Exception as exc:  # the broker away, or its buckets not made yet
        return [], f"the fault settings could not be read: {exc or type(exc).__name__}"
