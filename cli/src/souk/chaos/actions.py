"""Chaos Toolkit actions on a running Souk platform (``"module": "souk.chaos.actions"``).

Each action returns what it did (recorded in the journal). Faults go through the commands that
own them, as an operator would type them (:mod:`souk.chaos.faults`): ``souk fault kill|pause``
for processes, ``souk fault partition|slow|heal`` for links to the broker, ``souk config set``
for route and consumer faults; the actions add what an experiment needs around them (the
load must still run, the instance must come back ready).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from chaoslib.exceptions import ActivityFailed

from souk.chaos import background, poison
from souk.chaos.context import instance_of, log, platform_home, running_state, wait_for, work_dir
from souk.chaos.faults import (
    config_set,
    config_unset,
    fault_heal,
    fault_kill,
    fault_partition,
    fault_pause,
    fault_slow,
    souk,
)
from souk.home import Home
from souk.state import ProcState, pid_alive, read_json, read_state
from souk.topology import GATEWAY, NATS, REGISTRY

__all__ = ["clear_faults", "continuous_faults", "finish_load", "heal", "kill_instance",
           "partition_from_broker", "pause_instance", "poison_messages", "rolling_restart",
           "slow_broker", "slow_consumer", "slow_route", "start_load", "stop_load"]

Configuration = Mapping[str, Any] | None
READY_TIMEOUT = 120.0
# one instance each: the registry by design, the gateway because the load uses instance 1's port
IN_PLACE = frozenset({REGISTRY, GATEWAY, NATS})


def start_load(checkouts: int = 300, concurrency: int = 16, decline_rate: float = 0.2,
               name: str = "load", configuration: Configuration = None) -> dict[str, Any]:
    """Start ``checkouts`` checkouts by ``concurrency`` new users in the background (``souk
    load``'s workload); returns once checkouts run. ``souk.chaos.probes.load_result`` waits for
    it; the steady state's ``background_loads`` judges it."""
    return background.start_load(platform_home(configuration), name, checkouts, concurrency,
                                 decline_rate)


def finish_load(name: str = "load", at_least: int = 0, timeout: float = 900.0,
                configuration: Configuration = None) -> dict[str, Any]:
    """Let the background load start no more checkouts once it has started ``at_least``; its
    figures once those under way have finished (``failed``: the checkouts that got no terminal
    state). A load sized larger than the method needs thus spans every fault before it."""
    return background.finish_load(platform_home(configuration), name, at_least, timeout)


def stop_load(name: str = "load", configuration: Configuration = None) -> bool:
    """End a background load now (a rollback); True when it was running."""
    return background.stop_load(platform_home(configuration), name)


def _back(home: Home, instance: str, old_pid: int | None) -> ProcState | None:
    state = read_state(home.state_file)
    for proc in state.processes if state else []:
        if (proc.instance == instance and proc.ready and proc.pid is not None
                and proc.pid != old_pid and pid_alive(proc.pid)):
            return proc
    return None


def _ready_again(home: Home, instance: str, old_pid: int | None, began: float,
                 timeout: float) -> dict[str, Any]:
    proc = wait_for(f"{instance} restarted and ready", lambda: _back(home, instance, old_pid),
                    timeout)
    return {"new_pid": proc.pid, "back_after_s": round(time.monotonic() - began, 2)}


def _while_loading(home: Home, load: str | None, what: str) -> None:
    """ActivityFailed unless the background load ``load`` (when named) is still running: a
    fault meant to land under load proves nothing once the load has ended."""
    if load is not None and not background.is_running(home, load):
        raise ActivityFailed(f"{what}: the load {load!r} is not running any more")


def _live_pid(home: Home, instance: str, verb: str, during_load: str | None) -> int:
    """The pid of ``instance`` to ``verb`` now: alive, and under the named load."""
    _while_loading(home, during_load, f"{verb} {instance}")
    proc = instance_of(home, instance)
    if proc.pid is None or not pid_alive(proc.pid):
        raise ActivityFailed(f"{instance} has no live process to {verb} ({proc.status})")
    return proc.pid


def kill_instance(instance: str, wait_ready: bool = True, timeout: float = READY_TIMEOUT,
                  during_load: str | None = None,
                  configuration: Configuration = None) -> dict[str, Any]:
    """SIGKILL ``instance`` (``orders-1``, ``nats-1``, ``registry-1``, ``gateway-1``…); the
    supervisor restarts it. With ``wait_ready``, return once the new process is ready; with
    ``during_load``, fail unless that background load is running when the signal is sent."""
    home = platform_home(configuration)
    pid = _live_pid(home, instance, "kill", during_load)
    began = time.monotonic()
    fault_kill(home, instance)
    log.info(f"killed {instance} (pid {pid}, SIGKILL)")
    done: dict[str, Any] = {"instance": instance, "signal": "SIGKILL", "pid": pid}
    if wait_ready:
        done |= _ready_again(home, instance, pid, began, timeout)
        log.info(f"{instance} is back as pid {done['new_pid']} after {done['back_after_s']} s")
    return done


def pause_instance(instance: str, seconds: float = 10.0, timeout: float = READY_TIMEOUT,
                   during_load: str | None = None,
                   configuration: Configuration = None) -> dict[str, Any]:
    """Freeze ``instance`` for ``seconds`` (``souk fault pause INSTANCE --for S``: SIGSTOP, and
    the supervisor's SIGCONT when the time is up), then wait until it is ready again. Reports
    ``restarted`` when the frozen process did not survive (a liveness kill)."""
    home = platform_home(configuration)
    pid = _live_pid(home, instance, "pause", during_load)
    began = time.monotonic()
    fault_pause(home, instance, seconds)
    log.info(f"paused {instance} (pid {pid}) for {seconds:g} s")
    time.sleep(max(0.0, seconds - (time.monotonic() - began)))
    restarted = not pid_alive(pid)
    done: dict[str, Any] = {"instance": instance, "pid": pid, "seconds": seconds,
                            "restarted": restarted}
    if restarted:
        log.info(f"{instance} was killed while paused (liveness); waiting for its restart")
        done |= _ready_again(home, instance, pid, began, timeout)
    else:
        wait_for(f"{instance} ready after the pause",
                 lambda: _back(home, instance, None), timeout)
    return done


def partition_from_broker(service: str, configuration: Configuration = None) -> str:
    """Cut ``service``'s connections to the broker (``souk fault partition SERVICE broker``)."""
    return fault_partition(platform_home(configuration), service, "broker")


def slow_broker(service: str, ms: int, configuration: Configuration = None) -> str:
    """Delay ``service``'s traffic to the broker (``souk fault slow SERVICE broker --ms N``)."""
    return fault_slow(platform_home(configuration), service, ms)


def heal(service: str, configuration: Configuration = None) -> str:
    """Remove every network fault of ``service`` (``souk fault heal SERVICE``)."""
    return fault_heal(platform_home(configuration), service)


def slow_route(service: str, route: str, latency_ms: float,
               configuration: Configuration = None) -> str:
    """Delay every request of one route of ``service`` through the live configuration
    (``souk config set SERVICE.fault_routes``)."""
    return config_set(platform_home(configuration), f"{service}.fault_routes",
                      [{"route": route, "latency_ms": latency_ms}])


def slow_consumer(service: str, latency_ms: float, type: str = "*",
                  configuration: Configuration = None) -> str:
    """Delay every message of ``type`` (``"*"``: all) that ``service`` handles, through the
    live configuration (``souk config set SERVICE.fault_consumers``)."""
    return config_set(platform_home(configuration), f"{service}.fault_consumers",
                      [{"type": type, "latency_ms": latency_ms}])


def clear_faults(service: str, configuration: Configuration = None) -> list[str]:
    """No route or consumer fault of ``service``'s own any more (a rollback): its keys unset,
    so a platform-wide rule applies to it again rather than being hidden by an empty list."""
    home = platform_home(configuration)
    return [f"{service}.{key}" for key in ("fault_routes", "fault_consumers")
            if config_unset(home, f"{service}.{key}")]


def poison_messages(types: list[str] | None = None, copies: int = 2,
                    configuration: Configuration = None) -> dict[str, Any]:
    """Publish poison messages to the ``SOUK`` stream (:mod:`souk.chaos.poison`); the probe
    ``poison_dead_lettered`` checks where they ended."""
    home = platform_home(configuration)
    state = running_state(home)
    chosen = types or ["inventory.ReserveStock.v1", "orders.OrderConfirmed.v1"]
    sent = asyncio.run(poison.publish(state.nats_url, chosen, copies))
    path = work_dir(home) / "poison.json"
    earlier = read_json(path)
    path.write_bytes(orjson.dumps((earlier if isinstance(earlier, list) else []) + sent))
    kinds = sorted({m["kind"] for m in sent})
    log.info(f"published {len(sent)} poison messages ({', '.join(kinds)})")
    return {"sent": len(sent), "types": [*chosen, poison.UNKNOWN_TYPE], "kinds": kinds}


def _restart_in_place(home: Home, instance: str, timeout: float) -> dict[str, Any]:
    proc = instance_of(home, instance)
    if proc.pid is None:
        raise ActivityFailed(f"{instance} has no process to restart ({proc.status})")
    os.kill(proc.pid, signal.SIGTERM)
    began = time.monotonic()
    return {"instance": instance, "pid": proc.pid,
            **_ready_again(home, instance, proc.pid, began, timeout)}


def rolling_restart(services: list[str] | None = None, include_broker: bool = False,
                    timeout: float = READY_TIMEOUT,
                    configuration: Configuration = None) -> list[dict[str, Any]]:
    """Restart every instance of every service (``services``, else all but the broker), one at
    a time, each with a graceful SIGTERM. A service that can run beside itself first gets one
    instance more (``souk scale``), so it never runs short; the registry, the gateway (whose port
    the clients know) and the broker restart in place."""
    home = platform_home(configuration)
    state = running_state(home)
    chosen = services or [s for s in state.desired if s != NATS] + ([NATS] if include_broker else [])
    done: list[dict[str, Any]] = []
    for service in chosen:
        count = state.desired.get(service, 1 if service == NATS else 0)
        instances = [p.instance for p in running_state(home).of_service(service)]
        if count == 0 or not instances:
            continue
        began = time.monotonic()
        log.info(f"rolling restart of {service} ({len(instances)} instances)")
        surge = service not in IN_PLACE
        if surge:
            souk(home, "scale", f"{service}={count + 1}")
        steps = [_restart_in_place(home, instance, timeout) for instance in sorted(instances)]
        if surge:
            souk(home, "scale", f"{service}={count}")
        done.append({"service": service, "surged": surge, "restarted": steps,
                     "seconds": round(time.monotonic() - began, 2)})
    return done


# continuous_faults: the network and configuration faults held for a while, each with its healing
_TIMED: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "partition_from_broker": (partition_from_broker, heal),
    "slow_broker": (slow_broker, heal),
    "slow_route": (slow_route, clear_faults),
    "slow_consumer": (slow_consumer, clear_faults),
}


def _inject(spec: Mapping[str, Any], configuration: Configuration) -> None:
    kind = str(spec["action"])
    args = {k: v for k, v in spec.items() if k not in ("action", "seconds")}
    if kind == "kill_instance":
        kill_instance(configuration=configuration, **args)
    elif kind == "pause_instance":
        pause_instance(configuration=configuration, seconds=float(spec.get("seconds", 2)), **args)
    elif kind in _TIMED:
        inject, undo = _TIMED[kind]
        inject(configuration=configuration, **args)
        time.sleep(float(spec.get("seconds", 10)))
        undo(configuration=configuration, service=args["service"])
    else:
        raise ActivityFailed(f"continuous_faults: no fault {kind!r}")


def continuous_faults(faults: list[dict[str, Any]], every: float = 3.0, during_load: str = "load",
                      configuration: Configuration = None) -> dict[str, Any]:
    """Inject ``faults`` one after another, round and round, ``every`` seconds apart, for as long
    as the background load ``during_load`` runs. A fault is ``{"action": KIND, ...arguments}``:
    ``kill_instance`` and ``pause_instance`` (``seconds``) as above, or a timed network or
    configuration fault (``partition_from_broker``, ``slow_broker``, ``slow_route``,
    ``slow_consumer``) held ``seconds`` and then healed. Returns how many of each were injected."""
    home = platform_home(configuration)
    known = {"kill_instance", "pause_instance", *_TIMED}
    if unknown := sorted({str(f.get("action")) for f in faults} - known):
        raise ActivityFailed(f"continuous_faults: no fault {', '.join(unknown)}")
    injected: dict[str, int] = {}
    began, n = time.monotonic(), 0
    while background.is_running(home, during_load):
        spec = faults[n % len(faults)]
        _inject(spec, configuration)
        label = f"{spec['action']} {spec.get('instance') or spec.get('service')}"
        injected[label] = injected.get(label, 0) + 1
        n += 1
        time.sleep(every)
    log.info(f"continuous faults: {n} injected in {time.monotonic() - began:.0f} s")
    return {"injected": n, "by_fault": injected, "seconds": round(time.monotonic() - began, 1)}
