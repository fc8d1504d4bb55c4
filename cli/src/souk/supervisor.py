"""The supervisor: a detached asyncio process that owns every process of the platform.

It starts nats-server (or the nodes of a cluster), the registry, identity, the other services and
the gateway in tiers, keeps them running (restart on exit, liveness kill), applies
``desired.json``, ``hold.json`` (whose restarts to hold back) and ``pause.json`` (which processes
to keep stopped, and until when: the supervisor sends the SIGCONT, so a pause ends on time whatever
became of the CLI that asked for it) on SIGHUP, records everything in ``<home>/run/state.json`` and
stops it all in reverse order on SIGTERM.
Run it as ``python -m souk.supervisor --home H --topology FILE`` (``souk up`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from chassis.testing import find_nats_server, free_port
from souk.credentials import (
    ensure_demo_users,
    ensure_service_secrets,
    ensure_signing_key_secret,
)
from souk.home import Home
from souk.instance import Instance
from souk.logrotate import rotate_large
from souk.plan import Planner, PortAllocator, ProcSpec
from souk.postgres import (
    POSTGRES_ENV,
    PostgresError,
    ensure_databases,
    read_record,
    redact,
    write_record,
)
from souk.probes import Prober
from souk.state import (
    ErrorInfo,
    Phase,
    State,
    read_json,
    still_runs,
    write_json_atomic,
)
from souk.topology import (
    FAULT_PROXY,
    IDENTITY,
    NATS,
    REGISTRY,
    Topology,
    TopologyError,
    load_topology,
)

__all__ = ["Supervisor", "log", "main"]

STARTUP_CRASHES = 3
LOG_CHECK_SECONDS = 5.0
DEFAULT_STOP_TIMEOUT = 10.0


def log(level: str, event: str, **fields: Any) -> None:
    """One JSON line on stdout, which ``souk up`` points at ``<home>/logs/supervisor.log``."""
    record = {"ts": datetime.now(UTC).isoformat(), "level": level, "event": event,
              "service": "supervisor", "instance": "supervisor", **fields}
    sys.stdout.write(orjson.dumps(record, default=str).decode() + "\n")
    sys.stdout.flush()


class Supervisor:
    """Starts the platform tier by tier, keeps it running, stops it in reverse order."""

    def __init__(self, topology: Topology, topology_path: Path, home: Home, planner: Planner,
                 *, root: Path, startup_timeout: float) -> None:
        self.topology, self.topology_path, self.home = topology, topology_path, home
        self.planner, self.root, self.startup_timeout = planner, root, startup_timeout
        self.instances: dict[str, Instance] = {}
        self.desired = {name: svc.instances for name, svc in topology.services.items()}
        self.phase: Phase = "starting"
        self.error: ErrorInfo | None = None
        self._env = dict(os.environ)
        self._levels = {NATS: 0, FAULT_PROXY: 0} | {service: level for level, tier in
                                    enumerate(topology.tiers(), start=1) for service in tier}
        self._order = [NATS, FAULT_PROXY, *topology.services]
        self._tasks: set[asyncio.Task[None]] = set()
        self._reload_pending = False

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT (exit 0) or until start-up fails (exit 1)."""
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._on_hup)
        self._prober = Prober()
        self.home.create()
        self.home.pid_file.write_text(f"{os.getpid()}\n")
        write_json_atomic(self.home.desired_file, self.desired)
        self._write_state()
        log("info", "supervisor started", pid=os.getpid(), topology=str(self.topology_path))
        try:
            await self._serve()
        finally:
            await self._shutdown()
        return 1 if self.error else 0

    async def _serve(self) -> None:
        starting = asyncio.create_task(self._start())
        stopped = asyncio.create_task(self._stop.wait())
        await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done() and starting.result():
            self.phase = "running"
            self._write_state()
            log("info", "platform ready", processes=len(self.instances))
            if self._reload_pending:
                self._on_hup()
            rotating = asyncio.create_task(self._keep_logs_bounded())
            await stopped
            rotating.cancel()
            await asyncio.gather(rotating, return_exceptions=True)
        else:
            starting.cancel()
            stopped.cancel()
            await asyncio.gather(starting, stopped, return_exceptions=True)

    async def _keep_logs_bounded(self) -> None:
        """Every few seconds, rotate the log files grown past ``[platform] log_max_mb``
        (:mod:`souk.logrotate`); a copy runs in a thread, off the supervisor's loop."""
        platform = self.topology.platform
        if platform.log_max_mb <= 0:
            return
        while True:
            await asyncio.sleep(LOG_CHECK_SECONDS)
            try:
                rotated = await asyncio.to_thread(rotate_large, self.home.logs,
                                                  platform.log_max_mb << 20,
                                                  platform.log_generations)
            except OSError as exc:  # a full disk: say so, and try again later
                log("error", "log rotation failed", error=str(exc))
                continue
            if rotated:
                log("info", "logs rotated", files=rotated, max_mb=platform.log_max_mb)

    async def _start(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        if not await self._ensure_databases():
            return False
        migrating = asyncio.create_task(self._migrate())  # while the broker starts
        # a cluster's nodes start together: each is ready once JetStream has a meta leader
        nodes = [self._add(node) for node in self.planner.nats_nodes()]
        ready = await self._await_ready(nodes, deadline)
        if not ready:
            migrating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await migrating
        if not ready:
            return False
        proxy = self.planner.fault_proxy()
        if proxy is not None and not await self._await_ready([self._add(proxy)], deadline):
            return False
        for tier in self.topology.tiers():
            names = [self._add(self.planner.instance(service, slot))
                     for service in tier for slot in range(1, self.desired[service] + 1)]
            if not await self._await_ready(names, deadline):
                return False
        return True

    async def _ensure_databases(self) -> bool:
        """With ``[platform] postgres``: create each stateful service's database if missing
        (the services migrate their own at start) and record them for ``souk down --purge``."""
        server = self.topology.platform.postgres
        if server is None:
            return True
        try:
            names = self.planner.postgres_databases()
            created = await ensure_databases(server, names)
        except PostgresError as exc:
            self.error = ErrorInfo(instance="postgres", message=str(exc),
                                   log=str(self.home.supervisor_log))
            self.phase = "failed"
            log("error", "start-up failed", process="postgres", reason=str(exc))
            self._write_state()
            return False
        write_record(self.home, server, names)
        log("info", "postgresql databases ready", server=redact(server), databases=names,
            created=created)
        return True

    async def _migrate(self) -> None:
        """Bring every service's database to its newest schema in one child process before the
        services start: one import of Alembic for all (~1 s) instead of one child per service
        (~1 s of CPU each, ~10 s of a cold start on two cores). Each service still migrates its
        own at start (under Kubernetes nothing else does), and then finds it at head. If this
        fails, the services' own attempts report what is wrong, each in its own log."""
        from chassis.db.migrate import migrate_isolated, package_migrations

        targets = []
        for service in self.topology.services:
            url = self.planner.database_url(service)
            folder = package_migrations(self.topology.module_of(service).partition(".")[0])
            if url is not None and folder is not None:
                targets.append((url, folder))
        began = time.monotonic()
        try:
            await migrate_isolated(*targets)
        except (RuntimeError, OSError) as exc:
            log("warning", "migrating before the start failed; each service migrates its own",
                reason=str(exc))
        else:
            log("info", "databases migrated", services=len(targets),
                seconds=round(time.monotonic() - began, 2))

    def _add(self, spec: ProcSpec) -> str:
        instance = Instance(spec, cwd=self.root, env=self._env, probe=self._prober,
                            on_change=self._write_state, log=log)
        instance.hold(spec.instance in self._read_holds())
        self.instances[spec.instance] = instance
        instance.launch()
        self._write_state()
        return spec.instance

    async def _await_ready(self, names: list[str], deadline: float) -> bool:
        while True:
            group = [self.instances[name] for name in names]
            if all(instance.ready for instance in group):
                return True
            for instance in group:
                if not instance.ever_ready and instance.crashes >= STARTUP_CRASHES:
                    return self._fail(instance, f"{instance.name} exited {instance.crashes} "
                                      f"times before becoming ready (last exit code "
                                      f"{instance.last_exit})")
            if time.monotonic() >= deadline:
                late = next(instance for instance in group if not instance.ready)
                return self._fail(late, f"{late.name} was not ready after "
                                  f"{self.startup_timeout:g} s (GET {late.spec.ready_url} "
                                  "did not answer 200)")
            await asyncio.sleep(0.05)

    def _fail(self, instance: Instance, message: str) -> bool:
        self.error = ErrorInfo(instance=instance.name, message=message,
                               log=str(instance.spec.log_file))
        self.phase = "failed"
        log("error", "start-up failed", process=instance.name, reason=message)
        self._write_state()
        return False

    def _on_hup(self) -> None:
        if self.phase != "running":
            self._reload_pending = True
            return
        self._reload_pending = False
        task = asyncio.create_task(self._reconcile())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _read_desired(self) -> dict[str, int]:
        data = read_json(self.home.desired_file)
        if not isinstance(data, dict):
            log("error", "desired.json unreadable; ignored", path=str(self.home.desired_file))
            return {}
        wanted: dict[str, int] = {}
        for service, count in data.items():
            if service not in self.topology.services or not isinstance(count, int) or count < 0:
                log("warning", "desired count ignored", service=service, count=count)
            elif service == REGISTRY and count > 1:
                log("warning", "the registry runs at most one instance", count=count)
                wanted[service] = 1
            else:
                wanted[service] = count
        return wanted

    def _read_holds(self) -> set[str]:
        data = read_json(self.home.hold_file)
        if data is None:
            return set()
        if not isinstance(data, list) or not all(isinstance(name, str) for name in data):
            log("error", "hold.json unreadable; ignored", path=str(self.home.hold_file))
            return {i.name for i in self.instances.values() if i.held}
        return set(data)

    def _apply_pauses(self) -> None:
        data = read_json(self.home.pause_file)
        if data is not None and not isinstance(data, dict):
            log("error", "pause.json unreadable; ignored", path=str(self.home.pause_file))
            return
        now = time.time()
        for instance in self.instances.values():
            entry = (data or {}).get(instance.name)
            pid = entry.get("pid") if isinstance(entry, dict) else None
            until = entry.get("until") if isinstance(entry, dict) else None
            wanted = isinstance(pid, int) and (until is None or (
                isinstance(until, int | float) and until > now))
            if wanted and not instance.stopping:
                instance.pause(pid, float(until) if until is not None else None)  # type: ignore[arg-type]
            elif instance.paused and not (wanted and instance.paused_pid == pid):
                instance.resume()

    async def _reconcile(self) -> None:
        async with self._lock:
            holds = self._read_holds()
            for instance in self.instances.values():
                instance.hold(instance.name in holds)
            self._apply_pauses()
            wanted = self._read_desired()
            log("info", "reconciling", desired=wanted)
            retiring: list[Instance] = []
            for service, count in wanted.items():
                self.desired[service] = count
                running = sorted((i for i in self.instances.values()
                                  if i.spec.service == service and not i.stopping),
                                 key=lambda i: i.spec.slot)
                retiring += running[count:]
                slots = {i.spec.slot for i in running}
                free = (slot for slot in range(1, count + len(running) + 1) if slot not in slots)
                for _ in range(count - len(running)):
                    if not self._stop.is_set():
                        self._add(self.planner.instance(service, next(free)))
            self._write_state()
            await asyncio.gather(*(self._retire(instance) for instance in retiring))

    async def _retire(self, instance: Instance) -> None:
        await instance.stop(DEFAULT_STOP_TIMEOUT)
        self.instances.pop(instance.name, None)
        self._write_state()

    def _stop_timeout(self) -> float:
        data = read_json(self.home.stop_file)
        if isinstance(data, dict) and isinstance(data.get("timeout"), int | float):
            return float(data["timeout"])
        return DEFAULT_STOP_TIMEOUT

    async def _shutdown(self) -> None:
        """Stop in reverse tier order: gateway, services, registry, nats."""
        if self.phase != "failed":
            self.phase = "stopping"
        self._write_state()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        timeout = self._stop_timeout()
        log("info", "stopping", timeout=timeout)
        for level in sorted({self._levels[i.spec.service] for i in self.instances.values()},
                            reverse=True):
            await asyncio.gather(*(instance.stop(timeout) for instance in self.instances.values()
                                   if self._levels[instance.spec.service] == level))
        for instance in self.instances.values():
            instance.kill_now()
        self.phase = "failed" if self.error else "stopped"
        self._write_state()
        with contextlib.suppress(FileNotFoundError):
            self.home.pid_file.unlink()
        await self._prober.close()
        log("info", "supervisor stopped")

    def _write_state(self) -> None:
        def order(instance: Instance) -> tuple[int, int, int]:
            service = instance.spec.service
            return self._levels[service], self._order.index(service), instance.spec.slot

        state = State(
            supervisor_pid=os.getpid(), phase=self.phase, error=self.error,
            home=str(self.home.root), topology=str(self.topology_path),
            nats_url=self.planner.nats_url, stream_replicas=self.planner.stream_replicas,
            registry_url=self.planner.registry_url,
            gateway_url=self.planner.gateway_url, desired=dict(self.desired),
            processes=[i.snapshot() for i in sorted(self.instances.values(), key=order)],
            updated_at=datetime.now(UTC).isoformat())
        write_json_atomic(self.home.state_file, state.model_dump(mode="json"))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m souk.supervisor")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--topology", type=Path, required=True)
    parser.add_argument("--root", type=Path, help="working folder of every service")
    parser.add_argument("--gateway-port", type=int)
    parser.add_argument("--timeout", type=float, default=60.0, help="start-up deadline, seconds")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the detached supervisor process."""
    args = _parse(argv)
    # every file the platform writes (databases, the broker's store, logs) is its owner's only;
    # the services and nats-server inherit this
    os.umask(0o077)
    home = Home(args.home.absolute())
    try:
        topology = load_topology(args.topology)
        if args.gateway_port is not None:
            topology = topology.with_gateway_port(args.gateway_port)
        # `souk up --postgres URL` hands the URL over in the environment, not on a command line
        # everyone on the machine can read; the services must not inherit it
        if postgres := os.environ.pop(POSTGRES_ENV, ""):
            topology = topology.with_postgres(postgres)
        elif topology.platform.postgres is None and (record := read_record(home)) is not None:
            # a home whose data went to PostgreSQL keeps it there (souk down --purge forgets it)
            topology = topology.with_postgres(record[0])
    except TopologyError as exc:
        log("error", "bad topology", reason=str(exc))
        return 2
    other = read_json(home.pid_file)
    if isinstance(other, int) and other != os.getpid() and still_runs(other, "souk.supervisor"):
        log("error", "another supervisor runs on this home", pid=other)
        return 1
    # `souk up` made these already; ensuring again keeps a supervisor started by hand working
    home.create()
    service_secrets = ensure_service_secrets(home, topology.services)
    admin = ensure_demo_users(home)[0].admin if IDENTITY in topology.services else None
    planner = Planner(topology, home, PortAllocator(free_port), nats_binary=find_nats_server(),
                      service_secrets=service_secrets, bootstrap_admin=admin,
                      signing_key_secret=(ensure_signing_key_secret(home)
                                          if IDENTITY in topology.services else ""))
    supervisor = Supervisor(topology, args.topology.absolute(), home, planner,
                            root=(args.root or args.topology.absolute().parent).absolute(),
                            startup_timeout=args.timeout)
    try:
        return asyncio.run(supervisor.run())
    except Exception:
        log("critical", "supervisor crashed", traceback=traceback.format_exc())
        return 1


if __name__ == "__main__":
    sys.exit(main())
