"""Static settings shared by every service; each service subclasses them with its name and its own
fields, and is configured by ``<NAME>_<FIELD>`` environment variables.

Settings are msgspec Structs read from the environment by :meth:`ServiceSettings.load`, which
converts each ``<PREFIX><FIELD>`` variable to the field's type and checks its constraints (the
``Meta`` of the annotation and the class's ``__post_init__``), naming the variable in the error.
msgspec rather than pydantic-settings: the same checks at about a quarter of the memory (pydantic
and pydantic-settings weigh ~14 MB in every one of a dozen processes; docs/decisions.md).

Constructing a settings class directly (``OrdersSettings(database_url=...)``) is for tests: it
fills defaults and derived values but does not check constraints or read the environment.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args, get_origin

import msgspec
from msgspec import Meta

__all__ = ["BatchSize", "Interval", "ServiceSettings", "SettingsError", "Share", "StatefulServiceSettings",
           "Timeout"]

S = TypeVar("S", bound="ServiceSettings")
_SEQUENCES = (list, tuple, set, frozenset)


# Constrained types the services' settings share. A field adds its description with a Meta of its
# own, which msgspec merges with the type's: ``Annotated[Timeout, Meta(description="...")] = 5.0``.
Timeout = Annotated[float, Meta(gt=0, le=600)]
"""Seconds to wait for an answer or an event: more than 0, at most ten minutes."""
Interval = Annotated[float, Meta(gt=0, le=3600)]
"""Seconds between two runs of periodic work: more than 0, at most an hour."""
BatchSize = Annotated[int, Meta(ge=1, le=10_000)]
"""Items handled in one go (one transaction, one request): 1 to 10,000."""
Share = Annotated[float, Meta(ge=0, le=1)]
"""A fraction: 0 to 1."""


class SettingsError(ValueError):
    """A setting from the environment (or an override) is missing its type or constraints."""


def _is_sequence(annotation: Any) -> bool:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return get_origin(annotation) in _SEQUENCES or annotation in _SEQUENCES


class ServiceSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Settings every service has. A service names itself (``service_name: str = "catalog"``) and
    adds its own fields (``Annotated[int, Meta(ge=1, description=...)] = 5``); ``__post_init__``
    may add checks across fields (raise ValueError). Fields named in ``SECRETS`` never show in a
    repr.

    The environment variables are ``<ENV_PREFIX><FIELD>``; ``ENV_PREFIX`` is by default derived
    from the class's ``service_name`` (``"catalog"`` → ``CATALOG_``), a class may set it."""

    ENV_PREFIX: ClassVar[str] = ""  # "" means derived from service_name: see env_prefix()
    SECRETS: ClassVar[frozenset[str]] = frozenset({"service_secret"})

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535)] = 8000
    instance_id: Annotated[str, Meta(description="unique per process; derived when empty")] = ""
    advertise_url: Annotated[str, Meta(description="URL others use; http://host:port when empty")] = ""
    database_url: Annotated[str, Meta(description="sqlite:///path or postgresql://…; none when empty")] = ""
    nats_url: Annotated[str, Meta(description=(
        "nats://host:port, or a cluster's nodes comma-separated (the connection moves to another "
        "when its node goes); no broker when empty"))] = ""
    registry_url: Annotated[str, Meta(description="http://host:port of the registry; none when empty")] = ""
    upstream_urls: Annotated[tuple[str, ...], Meta(description=(
        "fixed base URLs of the services this one calls, as name=url pairs (comma-separated or a "
        "JSON array), such as Kubernetes Services (catalog=http://catalog:8000); the service "
        "client and the service-token fetch use them, other services are found through the "
        "registry"))] = ()
    heartbeat_interval: Annotated[float, Meta(gt=0, le=60)] = 2.0
    jwt_issuer: str = "souk-identity"
    jwt_audience: Annotated[str, Meta(description="audience of user access tokens")] = "souk"
    jwt_internal_audience: Annotated[str, Meta(description="of service tokens")] = "souk-internal"
    jwt_leeway: Annotated[float, Meta(ge=0, le=60, description="clock skew, seconds")] = 60.0
    jwks_url: Annotated[str, Meta(description="fixed JWKS URL; found through discovery if empty")] = ""
    jwks_refresh_seconds: Annotated[float, Meta(gt=0, le=3600, description=(
        "signing keys are fetched again when older than this: a key identity withdraws stops "
        "validating within it"))] = 60.0
    service_secret: Annotated[str, Meta(description="this service's credential for a service token")] = ""
    edge_services: Annotated[frozenset[str], Meta(description=(
        "services whose X-Forwarded-For is believed, when their service token rides with it in "
        "X-Souk-Edge-Token"))] = frozenset({"gateway"})
    otlp_endpoint: Annotated[
        str,
        Meta(
            description=(
                "base URL of an OTLP/HTTP trace receiver (spans go to <url>/v1/traces); tracing is off "
                "when empty"
            )
        ),
    ] = ""
    trace_sample_ratio: Annotated[
        float,
        Meta(
            ge=0.0,
            le=1.0,
            description=(
                "share of new traces recorded (parent-based: a traced request stays traced downstream)"
            ),
        ),
    ] = 1.0
    trace_keep_ratio: Annotated[
        float,
        Meta(
            ge=0.0,
            le=1.0,
            description=(
                "share of ordinary traces whose spans are exported (failed and slow ones always are)"
            ),
        ),
    ] = 1.0
    trace_slow_ms: Annotated[
        float, Meta(gt=0, description=("a trace with a span this long is always kept"))
    ] = 500.0
    fault_dir: Annotated[str, Meta(description="folder of armed crash points (tests); none when empty")] = ""
    # messaging (chassis.messaging; docs/checkout.md §2): the streams are shared by every service,
    # each applies these limits when it starts, so they are set alike everywhere (souk.toml's
    # [platform] does that for the embedded default)
    stream_max_age: Annotated[float, Meta(
        gt=0, description="seconds the SOUK stream keeps a message, consumed or not")] = 7 * 86_400.0
    stream_max_bytes: Annotated[int, Meta(
        ge=1 << 20, description="bytes SOUK holds at most (JetStream reserves them); past them "
                                "publishes are refused and wait in the outboxes")] = 1 << 30
    dlq_max_bytes: Annotated[int, Meta(
        ge=1 << 20, description="bytes SOUK_DLQ holds at most (no age limit); past them dead "
                                "letters wait in the outboxes")] = 128 << 20
    stream_replicas: Annotated[int, Meta(
        ge=1, le=5, description="replicas of every stream and key-value bucket the service "
                                "creates: one per node of the broker cluster (1: one server)")] = 1
    inbox_retention: Annotated[float, Meta(
        gt=0, description="seconds an inbox row is kept; more than stream_max_age, so any message "
                          "the stream can deliver again is still recognised; a day more than "
                          "stream_max_age when not set")] = 0.0  # filled in by __post_init__
    relay_max_queued: Annotated[int, Meta(
        ge=1, le=1_000_000, description="outbox rows the relay holds in memory; more wait in the "
                                        "outbox table for its catch-up poll")] = 10_000
    # admission control (chassis.web.admission): the default is from bench/overload.py (see
    # docs/decisions.md "Overload protection"); changed at run time by App.set_max_concurrency
    max_concurrency: Annotated[int, Meta(
        ge=0, le=100_000, description="requests one instance works on at once; past that share "
                                      "of it by priority, 503 + Retry-After at once (0: no "
                                      "limit)")] = 100
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    live_cache: Annotated[str, Meta(description=(
        "file keeping the last good live settings (chassis.live), used when a restart finds the "
        "store unreachable; none when empty"))] = ""
    log_format: Literal["json", "console"] = "json"
    data_dir: Annotated[str, Meta(description=(
        "folder of the process's own files (the launcher gives its home's data folder): a "
        "service with a database keeps its SQLite file there when given no database_url; "
        "var/data (relative to the working folder) when empty"))] = ""

    def __post_init__(self) -> None:
        if not self.inbox_retention:
            msgspec.structs.force_setattr(self, "inbox_retention", self.stream_max_age + 86_400.0)
        if self.inbox_retention <= self.stream_max_age:
            raise ValueError("inbox_retention must be longer than stream_max_age: a message the "
                             "stream still holds can be delivered again")
        for pair in self.upstream_urls:
            name, _, url = pair.partition("=")
            if not name.strip() or not url.strip().startswith(("http://", "https://")):
                raise ValueError(f"upstream_urls: {pair!r} is not name=http(s)://host:port")
        if not self.instance_id:
            msgspec.structs.force_setattr(
                self, "instance_id", f"{self.service_name}-{socket.gethostname()}-{self.port}"
            )
        if not self.advertise_url:
            host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
            msgspec.structs.force_setattr(self, "advertise_url", f"http://{host}:{self.port}")

    def fixed_upstreams(self) -> dict[str, str]:
        """``upstream_urls`` as ``{service: base URL}``."""
        pairs = (pair.partition("=") for pair in self.upstream_urls)
        return {name.strip(): url.strip().rstrip("/") for name, _, url in pairs}

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'***' if name in self.SECRETS and value else repr(value)}"
            for name, value in msgspec.structs.asdict(self).items()
        )
        return f"{type(self).__name__}({shown})"

    @classmethod
    def env_prefix(cls) -> str:
        """``ENV_PREFIX`` if the class sets one, else its ``service_name`` default in capitals and
        an underscore (``"orders"`` → ``ORDERS_``)."""
        if cls.ENV_PREFIX:
            return cls.ENV_PREFIX
        name = next(field.default for field in msgspec.structs.fields(cls)
                    if field.name == "service_name")
        return re.sub(r"\W", "_", str(name)).upper() + "_"

    @classmethod
    def load(cls: type[S], env: Mapping[str, str] | None = None, **overrides: Any) -> S:
        """The settings from ``<ENV_PREFIX><FIELD>`` variables of ``env`` (the process's
        environment by default), then ``overrides``, converted and checked."""
        environ = os.environ if env is None else env
        prefix = cls.env_prefix()
        values: dict[str, Any] = {}
        for field in msgspec.structs.fields(cls):
            raw = environ.get(prefix + field.name.upper())
            if raw is None:
                continue
            value: Any = raw
            if _is_sequence(field.type):  # "a,b" or a JSON array
                value = (
                    msgspec.json.decode(raw)
                    if raw.lstrip().startswith("[")
                    else [part.strip() for part in raw.split(",") if part.strip()]
                )
            values[field.name] = value
        values.update(overrides)
        try:
            return msgspec.convert(values, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(_explain(cls, str(exc))) from None


class StatefulServiceSettings(ServiceSettings, frozen=True, kw_only=True):
    """Settings of a service that owns a database: it cannot run without one, so an empty
    ``database_url`` is refused; by default a SQLite file named after the service."""

    database_url: Annotated[
        str,
        Meta(min_length=1, description="sqlite:///path or postgresql://…; "
                                       "sqlite:///<data_dir>/<service_name>.db when not set"),
    ] = ""  # filled in by __post_init__ (defaults are not checked against the Meta)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.database_url:  # an absolute data_dir gives the four slashes SQLAlchemy wants
            folder = self.data_dir.rstrip("/") or "var/data"
            msgspec.structs.force_setattr(
                self, "database_url", f"sqlite:///{folder}/{self.service_name}.db")


def _explain(cls: type[ServiceSettings], message: str) -> str:
    """Name the environment variable behind a ``- at `$.field``` message."""
    head, _, at = message.partition(" - at `$.")
    field = at.rstrip("`").split(".")[0].split("[")[0]
    if field:
        return f"{cls.env_prefix()}{field.upper()}: {head}"
    return message
