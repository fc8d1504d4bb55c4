"""From topology to processes: each instance's command, port, URLs and environment.

This is the process contract every Souk service is written to: a service instance runs as ``python
-m <module>`` with ``<SERVICE>_HOST``, ``_PORT``, ``_INSTANCE_ID``, ``_NATS_URL`` (every broker
node's URL, comma-separated), ``_REGISTRY_URL``, ``_LOG_FORMAT``, ``_SERVICE_SECRET`` (its
credential for a service token), ``_FAULT_DIR`` (``<home>/faults/<service>``, where tests arm crash
points), ``_LIVE_CACHE`` (``<home>/data/<service>.live.json``, its last good live settings),
``_DATA_DIR`` (``<home>/data``, where a service that needs a database and is given none keeps
its SQLite file) and, when it has a database, ``_DATABASE_URL`` (its SQLite file under
``<home>/data``, or with ``[platform] postgres`` its own database on that server, see
``souk.postgres``). When the topology
has a telemetry service, every other service also gets ``_OTLP_ENDPOINT`` (telemetry instance 1's
base URL; spans go to ``/v1/traces`` there) and ``_TRACE_SAMPLE_RATIO``, ``_TRACE_KEEP_RATIO`` and
``_TRACE_SLOW_MS`` (``[platform]``); telemetry gets the same keep rules as ``TELEMETRY_KEEP_RATIO``
and ``TELEMETRY_SLOW_MS``. Every service gets the stream's limits, ``_STREAM_MAX_AGE`` and
``_STREAM_MAX_BYTES`` (``[platform]``), and ``_STREAM_REPLICAS`` (one per broker node, ``[platform]
nats_nodes``): whichever service starts applies them to the one shared stream, and creates the
key-value buckets with those replicas. Identity and the registry also get the file of every
service's credential hash (identity trades a secret for a service token, the registry admits only
registrations made with one), identity the demo admin to create and the secret it encrypts its
signing keys with. A service the topology puts behind the fault proxy (``[platform]
fault_proxies``) gets the proxy's port for it as its NATS URL (and as the address of a PostgreSQL
database URL; a port per node of a broker cluster), so ``souk fault partition|slow`` can cut or
slow that path alone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from souk.credentials import DemoUser
from souk.home import Home
from souk.postgres import database_names, service_url
from souk.topology import (
    FAULT_PROXY,
    GATEWAY,
    IDENTITY,
    NATS,
    REGISTRY,
    RESERVED_PORT,
    TELEMETRY,
    WEB,
    Topology,
)

__all__ = ["BROKER", "DATABASE", "FAULT_PROXY_INSTANCE", "NATS_INSTANCE", "Planner",
           "PortAllocator", "ProcSpec", "connect_host"]

NATS_INSTANCE = f"{NATS}-1"
FAULT_PROXY_INSTANCE = f"{FAULT_PROXY}-1"
BROKER, DATABASE = "broker", "database"  # what a fault proxy link leads to


@dataclass(frozen=True)
class ProcSpec:
    """Everything needed to start (and restart, identically) one process."""

    service: str
    instance: str
    slot: int
    argv: tuple[str, ...]
    env: Mapping[str, str]
    port: int
    url: str
    ready_url: str
    live_url: str
    log_file: Path
    monitor_port: int | None = None
    # A word of the command line, to tell our process from a stranger that reused its pid.
    marker: str = ""


class PortAllocator:
    """Hands out distinct ports: fixed ones as asked, others from ``picker`` (never 4222)."""

    def __init__(self, picker: Callable[[], int]) -> None:
        self._picker = picker
        self._taken: set[int] = set()

    def take(self, port: int) -> int:
        """Claim a fixed port."""
        self._taken.add(port)
        return port

    def pick(self) -> int:
        """A port not handed out before and not 4222."""
        for _ in range(1000):
            port = self._picker()
            if port != RESERVED_PORT and port not in self._taken:
                return self.take(port)
        raise RuntimeError("could not find a free port")


def connect_host(host: str) -> str:
    """The address to reach a server bound to ``host`` (wildcards mean loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "", "localhost") else host


@dataclass
class Planner:
    """Builds process specs and remembers each slot's port, so a restarted or re-added
    instance comes back on the same port."""

    topology: Topology
    home: Home
    ports: PortAllocator
    nats_binary: str
    python: str = sys.executable
    service_secrets: Mapping[str, str] = field(default_factory=dict)
    bootstrap_admin: DemoUser | None = None
    signing_key_secret: str = ""
    _slot_ports: dict[str, int] = field(default_factory=dict)
    _nats: list[ProcSpec] = field(default_factory=list)
    _link_ports: dict[tuple[str, str], int] = field(default_factory=dict)

    def nats_nodes(self) -> list[ProcSpec]:
        """The nats-server processes: one (JetStream on disk under ``<home>/nats``), or the
        nodes of a cluster (``[platform] nats_nodes``), each with its own store under
        ``<home>/nats/<instance>``, routes to the others on loopback, and ``--no_advertise``:
        a client uses the URLs it was given (a service behind the fault proxy must not learn
        the nodes' own addresses and go round it)."""
        if not self._nats:
            count = self.topology.platform.nats_nodes
            ports = [(self.ports.pick(), self.ports.pick(), self.ports.pick() if count > 1 else 0)
                     for _ in range(count)]
            # Go's scheduler otherwise keeps a thread per core and spins them looking for work:
            # CPU taken from the services on a shared machine (decision 89)
            gomaxprocs = self.topology.platform.nats_threads
            threads = {"GOMAXPROCS": str(gomaxprocs)} if gomaxprocs else {}
            for slot, (port, monitor, cluster) in enumerate(ports, start=1):
                instance = f"{NATS}-{slot}"
                # --logtime_utc: its text lines then sort correctly against the services' UTC ones
                argv: tuple[str, ...] = (
                    self.nats_binary, "-a", "127.0.0.1", "-p", str(port), "-m", str(monitor), "-js")
                if count == 1:
                    argv += ("-sd", str(self.home.nats), "-n", "souk")
                else:
                    routes = ",".join(f"nats://127.0.0.1:{other[2]}" for other in ports
                                      if other[2] != cluster)
                    argv += ("-sd", str(self.home.nats / instance), "-n", f"souk-{slot}",
                             "--cluster_name", "souk", "--cluster", f"nats://127.0.0.1:{cluster}",
                             "--routes", routes, "--no_advertise")
                self._nats.append(ProcSpec(
                    service=NATS, instance=instance, slot=slot, argv=(*argv, "--logtime_utc"),
                    env=threads, port=port, url=f"nats://127.0.0.1:{port}",
                    ready_url=f"http://127.0.0.1:{monitor}/healthz",
                    live_url=f"http://127.0.0.1:{monitor}/varz",
                    log_file=self.home.log_file(instance), monitor_port=monitor,
                    marker="nats-server"))
        return list(self._nats)

    def nats(self, slot: int = 1) -> ProcSpec:
        """Node ``slot`` (from 1) of the broker."""
        return self.nats_nodes()[slot - 1]

    @property
    def nats_url(self) -> str:
        """Every node's URL, comma-separated (``<SERVICE>_NATS_URL`` takes such a list)."""
        return ",".join(node.url for node in self.nats_nodes())

    @property
    def stream_replicas(self) -> int:
        return self.topology.platform.stream_replicas

    def _link_port(self, service: str, target: str) -> int:
        if (service, target) not in self._link_ports:
            self._link_ports[(service, target)] = self.ports.pick()
        return self._link_ports[(service, target)]

    def postgres_databases(self) -> dict[str, str]:
        """Service → its database on ``[platform] postgres`` (none without one)."""
        return database_names(self.topology, self.home)

    def database_url(self, service: str) -> str | None:
        """``service``'s database: the topology's own ``<SERVICE>_DATABASE_URL`` if it sets one,
        else with ``database = true`` its database on ``[platform] postgres``, or its SQLite
        file under ``<home>/data``."""
        config = self.topology.services[service]
        if url := config.env.get(f"{service.upper()}_DATABASE_URL"):
            return url
        if not config.database:
            return None
        if (server := self.topology.platform.postgres) is not None:
            return service_url(server, self.postgres_databases()[service])
        # an absolute path after sqlite:/// gives the four slashes SQLAlchemy wants
        return f"sqlite:///{self.home.data / service}.db"

    def _postgres_of(self, service: str) -> tuple[str, int] | None:
        url = self.database_url(service) or ""
        if not url.startswith(("postgresql://", "postgres://")):
            return None
        parts = urlsplit(url)
        return parts.hostname or "127.0.0.1", parts.port or 5432

    def fault_proxy(self) -> ProcSpec | None:
        """The fault proxy (``souk.fault_proxy``), when the topology puts any service behind
        it: one link per proxied service to the broker, and to its PostgreSQL if it has one."""
        proxied = [name for name in self.topology.services if self.topology.proxied(name)]
        if not proxied:
            return None
        links = [f"{name}:{BROKER}:{self._link_port(name, node.instance)}:127.0.0.1:{node.port}"
                 for name in proxied for node in self.nats_nodes()]
        for name in proxied:
            if (pg := self._postgres_of(name)) is not None:
                links.append(f"{name}:{DATABASE}:{self._link_port(name, DATABASE)}:"
                             f"{pg[0]}:{pg[1]}")
        control = self._link_port(FAULT_PROXY, "control")
        argv = (self.python, "-m", "souk.fault_proxy", "--control-port", str(control),
                "--faults", str(self.home.net_faults_file),
                *(arg for link in links for arg in ("--link", link)))
        url = f"http://127.0.0.1:{control}"
        return ProcSpec(service=FAULT_PROXY, instance=FAULT_PROXY_INSTANCE, slot=1, argv=argv,
                        env={"PYTHONUNBUFFERED": "1"}, port=control, url=url,
                        ready_url=f"{url}/health/ready", live_url=f"{url}/health/live",
                        log_file=self.home.log_file(FAULT_PROXY_INSTANCE),
                        marker="souk.fault_proxy")

    @property
    def registry_url(self) -> str | None:
        if REGISTRY not in self.topology.services:
            return None
        return f"http://{connect_host(self.topology.platform.host)}:{self.port_of(REGISTRY, 1)}"

    @property
    def telemetry_url(self) -> str | None:
        """Base URL of telemetry instance 1, or None when the topology runs no telemetry."""
        config = self.topology.services.get(TELEMETRY)
        if config is None or config.instances < 1:
            return None
        return f"http://{connect_host(self.topology.platform.host)}:{self.port_of(TELEMETRY, 1)}"

    def port_of(self, service: str, slot: int) -> int:
        """The port of ``service``'s instance ``slot``: fixed for slot 1 when configured,
        else picked once and kept."""
        instance = f"{service}-{slot}"
        if instance not in self._slot_ports:
            fixed = self.topology.fixed_ports().get(instance) if slot == 1 else None
            self._slot_ports[instance] = self.ports.take(fixed) if fixed else self.ports.pick()
        return self._slot_ports[instance]

    def instance(self, service: str, slot: int) -> ProcSpec:
        """The spec of ``service``'s instance number ``slot`` (from 1)."""
        config = self.topology.services[service]
        host = self.topology.platform.host
        port = self.port_of(service, slot)
        instance = f"{service}-{slot}"
        url = f"http://{connect_host(host)}:{port}"
        prefix = service.upper() + "_"
        env = {
            f"{prefix}HOST": host,
            f"{prefix}PORT": str(port),
            f"{prefix}INSTANCE_ID": instance,
            f"{prefix}NATS_URL": self.nats_url,
            f"{prefix}LOG_FORMAT": "json",
            f"{prefix}FAULT_DIR": str(self.home.fault_dir(service)),
            # the last good live settings (chassis.live), for a restart while NATS is away
            f"{prefix}LIVE_CACHE": str(self.home.data / f"{service}.live.json"),
            # where a service that needs a database and is given none keeps its SQLite file
            # (it was var/data under the supervisor's working folder, shared by every home)
            f"{prefix}DATA_DIR": str(self.home.data),
            # one shared stream: every service applies the same limits
            f"{prefix}STREAM_MAX_AGE": str(self.topology.platform.stream_max_age),
            f"{prefix}STREAM_MAX_BYTES": str(self.topology.platform.stream_max_bytes),
            # and the same replicas, one per broker node
            f"{prefix}STREAM_REPLICAS": str(self.stream_replicas),
            # print() output then reaches the log file at once, interleaved with the JSON lines
            "PYTHONUNBUFFERED": "1",
        }
        if (registry := self.registry_url) is not None:
            env[f"{prefix}REGISTRY_URL"] = registry
        if (database := self.database_url(service)) is not None:
            env[f"{prefix}DATABASE_URL"] = database
        if service != TELEMETRY and (telemetry := self.telemetry_url) is not None:
            # telemetry itself gets neither: it must not trace its own ingest
            env[f"{prefix}OTLP_ENDPOINT"] = telemetry
            env[f"{prefix}TRACE_SAMPLE_RATIO"] = str(self.topology.platform.trace_sample_ratio)
            # the same keep rules where spans are made (chassis.trace_keep) as in the store
            env[f"{prefix}TRACE_KEEP_RATIO"] = str(self.topology.platform.trace_keep_ratio)
            env[f"{prefix}TRACE_SLOW_MS"] = str(self.topology.platform.trace_slow_ms)
        if service == TELEMETRY:
            env[f"{prefix}KEEP_RATIO"] = str(self.topology.platform.trace_keep_ratio)
            env[f"{prefix}SLOW_MS"] = str(self.topology.platform.trace_slow_ms)
        if (secret := self.service_secrets.get(service)) is not None:
            env[f"{prefix}SERVICE_SECRET"] = secret
        if service in (IDENTITY, REGISTRY):
            env[f"{prefix}SERVICE_CREDENTIALS_FILE"] = str(self.home.service_credentials_file)
        if service == IDENTITY:
            env |= self._identity_env(prefix)
        if service == WEB:  # the console lists the experiments `souk chaos run` takes
            from souk.chaos.command import experiments_dir

            env[f"{prefix}CHAOS_EXPERIMENTS"] = str(experiments_dir())
        env.update(config.env)
        if self.topology.proxied(service):
            # a link per node, all cut or slowed together (they share the target "broker")
            env[f"{prefix}NATS_URL"] = ",".join(
                f"nats://127.0.0.1:{self._link_port(service, node.instance)}"
                for node in self.nats_nodes())
            if self._postgres_of(service) is not None:
                parts = urlsplit(env[f"{prefix}DATABASE_URL"])
                proxied_at = f"127.0.0.1:{self._link_port(service, DATABASE)}"
                netloc = parts.netloc.rpartition("@")[0] + "@" + proxied_at \
                    if "@" in parts.netloc else proxied_at
                env[f"{prefix}DATABASE_URL"] = parts._replace(netloc=netloc).geturl()
        module = self.topology.module_of(service)
        return ProcSpec(
            service=service, instance=instance, slot=slot, argv=(self.python, "-m", module),
            env=env, port=port, url=url, ready_url=f"{url}/health/ready",
            live_url=f"{url}/health/live", log_file=self.home.log_file(instance), marker=module)

    def _identity_env(self, prefix: str) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.signing_key_secret:
            env[f"{prefix}SIGNING_KEY_SECRET"] = self.signing_key_secret
        if self.bootstrap_admin is not None:
            env[f"{prefix}BOOTSTRAP_ADMIN_EMAIL"] = self.bootstrap_admin.email
            env[f"{prefix}BOOTSTRAP_ADMIN_PASSWORD"] = self.bootstrap_admin.password
        return env

    @property
    def gateway_url(self) -> str | None:
        if GATEWAY not in self.topology.services:
            return None
        return f"http://{connect_host(self.topology.platform.host)}:{self.port_of(GATEWAY, 1)}"
