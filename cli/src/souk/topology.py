"""The platform's topology: which services run, how many instances each, on which ports.

It comes from one declarative TOML file (``souk.toml`` at the repo root by default)::

    [platform]
    host = "127.0.0.1"
    gateway_port = 8080          # 0 = pick a free port
    trace_sample_ratio = 1.0     # share of requests traced when a telemetry service runs
    trace_keep_ratio = 0.1       # share of ordinary traces the trace store keeps
    nats_nodes = 1               # 3: a NATS JetStream cluster on loopback, streams and KV R3
    postgres = "postgresql://postgres@127.0.0.1:5432/postgres"  # unset: SQLite files
    postgres_prefix = "shop"     # databases shop_<service>; unset: souk_<hash of the home>

    [services.catalog]
    instances = 2
    database = true
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = ["FAULT_PROXY", "GATEWAY", "IDENTITY", "MAX_INSTANCES", "NATS", "REGISTRY",
           "RESERVED_PORT", "TELEMETRY", "Platform", "ServiceConfig", "Topology", "TopologyError",
           "find_topology", "load_topology", "parse_topology"]

# A developer's own NATS usually listens on 4222; the platform never takes it.
RESERVED_PORT = 4222
REGISTRY = "registry"
IDENTITY = "identity"
GATEWAY = "gateway"
TELEMETRY = "telemetry"
WEB = "web"  # the front end (its console lists the chaos experiments)
NATS = "nats"
FAULT_PROXY = "faultproxy"  # souk.fault_proxy, started when [platform] fault_proxies asks
# instances of one service on one machine at the most: each is a process (~100 MB), and a
# `souk scale catalog=100` meant as 10 should not start a hundred
MAX_INSTANCES = 64
_NAME = r"^[a-z][a-z0-9_]*$"
_MODULE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
_ENV_KEY = r"^[A-Za-z_][A-Za-z0-9_]*$"


class TopologyError(Exception):
    """The topology file is missing, is not valid TOML, or does not describe a platform."""


def _not_reserved(port: int | None) -> int | None:
    if port == RESERVED_PORT:
        raise ValueError(f"port {RESERVED_PORT} is reserved (a local NATS may use it); pick another")
    return port


class ServiceConfig(BaseModel):
    """One ``[services.<name>]`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instances: int = Field(default=1, ge=0, le=MAX_INSTANCES,
                           description="how many processes to run")
    database: bool = Field(default=False, description=(
        "give each instance a database URL: its SQLite file in the home, or its own database "
        "on [platform] postgres; a service that needs one and is given none keeps a SQLite "
        "file in the home's data folder all the same"))
    module: str | None = Field(default=None, pattern=_MODULE,
                               description="python module run with -m; the service name if unset")
    port: int | None = Field(default=None, ge=1, le=65535,
                             description="fixed port of instance 1; a free port if unset")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment")

    @field_validator("port")
    @classmethod
    def _port(cls, port: int | None) -> int | None:
        return _not_reserved(port)

    @field_validator("env")
    @classmethod
    def _env_keys(cls, env: dict[str, str]) -> dict[str, str]:
        bad = [key for key in env if not re.match(_ENV_KEY, key)]
        if bad:
            raise ValueError(f"not an environment variable name: {', '.join(bad)}")
        return env


class Platform(BaseModel):
    """The ``[platform]`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(default="127.0.0.1", min_length=1)
    gateway_port: int = Field(default=8080, ge=0, le=65535)
    trace_sample_ratio: float = Field(
        default=1.0, ge=0, le=1, allow_inf_nan=False,
        description="share of requests the edge traces (0..1) when telemetry runs")
    trace_keep_ratio: float = Field(
        default=0.1, ge=0, le=1, allow_inf_nan=False,
        description="share of ordinary traces the trace store keeps; failed and slow ones are "
                    "always kept")
    trace_slow_ms: float = Field(default=500.0, gt=0, allow_inf_nan=False,
                                 description="a trace at least this long is always kept")
    stream_max_age: float = Field(
        default=7 * 86_400.0, gt=0, allow_inf_nan=False,
        description="seconds the SOUK stream keeps a message; every service is told the same")
    stream_max_bytes: int = Field(
        default=1 << 30, ge=1 << 20,
        description="bytes SOUK holds at most (past them publishes wait in the outboxes); every "
                    "service is told the same")

    log_max_mb: int = Field(
        default=16, ge=0, le=1 << 20,
        description="a process's log file is kept under this many MiB: past it, the supervisor "
                    "moves what it holds to <name>.1 (the one before to .2 …); 0: never")
    log_generations: int = Field(
        default=2, ge=1, le=9,
        description="older log files kept per process (<name>.1 … <name>.N)")

    nats_nodes: int = Field(
        default=1, ge=1, le=5,
        description="nats-server processes: 1, or a JetStream cluster of 3 (or 5) on loopback "
                    "whose streams and key-value buckets keep that many replicas")

    nats_threads: int = Field(
        default=1, ge=0, le=1024,
        description="threads each nats-server runs its Go code on (GOMAXPROCS): 1 where it "
                    "shares a machine's cores with a dozen busy processes, as here; 0: Go's "
                    "default, one per core (docs/decisions.md 89)")

    postgres: str | None = Field(
        default=None, pattern=r"^postgres(ql)?://",
        description="a PostgreSQL server (postgresql://user[:password]@host[:port]/db, db being "
                    "the one to connect to for creating the others): every service with a "
                    "database gets its own there, instead of a SQLite file")
    postgres_prefix: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9_]*$", max_length=40,
        description="the databases are named <prefix>_<service>; souk_<hash of the home "
                    "folder> if unset, so two homes on one server never share one")

    fault_proxies: bool | list[str] = Field(
        default=False,
        description="put the fault proxy (souk fault partition/slow/heal) between these "
                    "services (true: every service) and the broker, and their PostgreSQL")

    @field_validator("gateway_port")
    @classmethod
    def _port(cls, port: int) -> int:
        _not_reserved(port)
        return port

    @field_validator("nats_nodes")
    @classmethod
    def _odd(cls, nodes: int) -> int:
        # a cluster of 2 or 4 survives no more lost nodes than one of 1 or 3: RAFT needs a majority
        if nodes % 2 == 0:
            raise ValueError("must be 1, 3 or 5 (a JetStream cluster needs a majority of its "
                             "nodes up: an even count adds no tolerance)")
        return nodes

    @property
    def stream_replicas(self) -> int:
        """Replicas of every stream and key-value bucket: one per node (JetStream's maximum,
        5, is the nodes' maximum too)."""
        return self.nats_nodes


class Topology(BaseModel):
    """The whole file. Services start in tiers: registry (with telemetry), identity, the others,
    the gateway."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: Platform = Field(default_factory=Platform)
    services: dict[str, ServiceConfig] = Field(default_factory=dict)

    @field_validator("services")
    @classmethod
    def _names(cls, services: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
        for name in services:
            if name in (NATS, FAULT_PROXY):
                raise ValueError(f"{name!r} is started by souk itself; remove [services.{name}]")
            if not re.match(_NAME, name):
                raise ValueError(f"service name {name!r} must be lower-case letters, digits and "
                                 "'_', starting with a letter")
        return services

    @model_validator(mode="after")
    def _distinct_ports(self) -> Topology:
        seen: dict[int, str] = {}
        for name, svc in self.services.items():
            port = self.platform.gateway_port if name == GATEWAY and self.platform.gateway_port \
                else svc.port
            if port is None:
                continue
            if port in seen:
                raise ValueError(f"services {seen[port]!r} and {name!r} both want port {port}")
            seen[port] = name
        return self

    @model_validator(mode="after")
    def _proxied_exist(self) -> Topology:
        proxied = self.platform.fault_proxies
        unknown = [] if isinstance(proxied, bool) else sorted(set(proxied) - set(self.services))
        if unknown:
            raise ValueError(f"platform.fault_proxies names unknown services: {', '.join(unknown)}")
        return self

    def proxied(self, service: str) -> bool:
        """Whether ``service`` reaches the broker (and PostgreSQL) through the fault proxy."""
        proxied = self.platform.fault_proxies
        return proxied if isinstance(proxied, bool) else service in proxied

    def tiers(self) -> list[list[str]]:
        """Service names in start order; each tier waits for the previous one to be ready.
        First the registry (everyone registers there and finds the others through it), with
        telemetry (the first spans have somewhere to go) and identity (tokens and keys are
        asked of it on first use); then everything else at once, the gateway too (it routes to
        whatever has registered; `souk up` still reports ready only once every process is).
        Two tiers rather than four: on two cores the services' start-up is CPU-bound, and each
        tier boundary left a core idle while the last process of a tier finished starting."""
        first = (REGISTRY, TELEMETRY, IDENTITY)
        tiers = [[name for name in first if name in self.services],
                 [name for name in self.services if name not in first and name != GATEWAY]
                 + ([GATEWAY] if GATEWAY in self.services else [])]
        return [tier for tier in tiers if tier]

    def module_of(self, service: str) -> str:
        """The python module that runs ``service``."""
        return self.services[service].module or service

    def with_gateway_port(self, port: int) -> Topology:
        """A copy whose gateway listens on ``port`` (validated like the file's value)."""
        data = self.model_dump()
        data["platform"]["gateway_port"] = port
        return _validate(data, "--gateway-port")

    def with_postgres(self, url: str) -> Topology:
        """A copy whose stateful services keep their data on the PostgreSQL server at ``url``
        (validated like the file's value)."""
        data = self.model_dump()
        data["platform"]["postgres"] = url
        return _validate(data, "--postgres")

    def fixed_ports(self) -> dict[str, int]:
        """Instance name → port for every instance whose port is fixed (not picked at start)."""
        fixed: dict[str, int] = {}
        for name, svc in self.services.items():
            if svc.instances < 1:
                continue
            port = self.platform.gateway_port if name == GATEWAY else svc.port
            if port:
                fixed[f"{name}-1"] = port
        return fixed


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown key"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{where}: must be a table (e.g. [{where}])"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def _validate(data: Any, source: str) -> Topology:
    try:
        return Topology.model_validate(data)
    except ValidationError as exc:
        lines = "\n".join(f"  - {_describe(error)}" for error in exc.errors())
        raise TopologyError(f"{source} is not a valid topology:\n{lines}") from None


def parse_topology(text: str, source: str = "topology") -> Topology:
    """Parse and validate TOML text; errors name the file and every offending key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TopologyError(f"{source} is not valid TOML: {exc}") from None
    return _validate(data, source)


def load_topology(path: Path) -> Topology:
    """Read and validate the topology file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TopologyError(f"cannot read topology {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:  # TOML is UTF-8
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise TopologyError(f"topology {path} is not UTF-8 text (TOML must be): byte "
                            f"{exc.object[exc.start:exc.start + 1]!r} on line {line}") from None
    return parse_topology(text, str(path))


def find_topology(start: Path, name: str = "souk.toml") -> Path:
    """``name`` in ``start`` or its nearest parent, so souk works from any folder of the repo."""
    for folder in (start, *start.parents):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise TopologyError(f"no {name} in {start} or its parents; pass --topology FILE")
