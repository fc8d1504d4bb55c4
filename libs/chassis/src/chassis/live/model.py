"""What the live configuration is made of: the settings every service has, keys, and the record
stored at each revision (the value and its audit: who, when, old → new)."""

from __future__ import annotations

import getpass
import re
import socket
import time
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta

from chassis.fault_rules import ConsumerFault, RouteFault
from chassis.settings import ServiceSettings, Share

__all__ = ["BUCKET", "HISTORY", "PLATFORM", "SERVICES_BUCKET", "KeyError_", "LiveSettings",
           "Record", "ServiceLiveSettings", "default_author", "from_static", "parse_key",
           "store_key", "utc_now"]

BUCKET = "SOUK_CONFIG"
"""The key-value bucket of live settings: ``<service>.<setting>`` and ``platform.<setting>``."""
SERVICES_BUCKET = "SOUK_CONFIG_SERVICES"
"""What each service publishes about its live settings: ``<service>`` (their JSON schema and
static values), ``<service>.<instance>`` (the values it runs with)."""
HISTORY = 64  # revisions kept per key (JetStream's most)
PLATFORM = "platform"
"""The scope of a platform-wide key: every service with that setting; its own key overrides."""

L = TypeVar("L", bound="LiveSettings")

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SERVICE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class LiveSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The live settings every service has. A service subclasses it with its own
    (``decline_rate: Share = 0.0``); a field named like a static setting starts from the static
    value (file/env), and the store's value overrides it while the service runs. Constraints are
    msgspec's; ``__post_init__`` may check more (raise ValueError)."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    trace_sample_ratio: Annotated[Share, Meta(description=(
        "share of new traces recorded (the edge starts traces)"))] = 1.0
    trace_keep_ratio: Annotated[Share, Meta(description=(
        "share of ordinary traces exported (failed and slow ones always are)"))] = 1.0
    fault_routes: Annotated[tuple[RouteFault, ...], Meta(description=(
        "faults injected in the HTTP requests this service answers"))] = ()
    fault_consumers: Annotated[tuple[ConsumerFault, ...], Meta(description=(
        "faults injected in the messages this service handles"))] = ()
    clock_skew: Annotated[float, Meta(ge=-86_400, le=86_400, description=(
        "seconds added to this service's clock"))] = 0.0


_Seconds = Annotated[float, Meta(gt=0, le=600)]
_Share = Annotated[float, Meta(ge=0, le=1)]
_Ratio = Annotated[float, Meta(gt=0, le=1)]


class ServiceLiveSettings(LiveSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The live settings of a service built by ``create_service_app``: the base ones and its
    :class:`~chassis.http.ServiceClient`'s policy. Null (the default) leaves the policy the
    service built."""

    client_attempt_timeout: Annotated[_Seconds | None, Meta(description=(
        "seconds one attempt of a call to another service may take"))] = None
    client_deadline: Annotated[_Seconds | None, Meta(description=(
        "seconds a call to another service may take, retries included"))] = None
    client_max_retries: Annotated[Annotated[int, Meta(ge=0, le=10)] | None, Meta(description=(
        "extra attempts of an idempotent call"))] = None
    client_retry_budget_ratio: Annotated[_Share | None, Meta(description=(
        "retries allowed per request over the budget's window"))] = None
    client_retry_budget_min: Annotated[Annotated[int, Meta(ge=0, le=10_000)] | None, Meta(
        description="retries always allowed per window")] = None
    client_breaker_failure_ratio: Annotated[_Ratio | None, Meta(description=(
        "failure share of the window that opens a breaker"))] = None
    client_breaker_min_calls: Annotated[Annotated[int, Meta(ge=1, le=10_000)] | None, Meta(
        description="calls in the window before a ratio counts")] = None
    client_breaker_open_seconds: Annotated[Annotated[float, Meta(gt=0, le=300)] | None, Meta(
        description="seconds an open breaker refuses calls")] = None
    client_max_in_flight: Annotated[Annotated[int, Meta(ge=1, le=100_000)] | None, Meta(
        description="calls in flight to one upstream (bulkhead)")] = None
    max_concurrency: Annotated[int, Meta(ge=0, le=100_000, description=(
        "requests one instance works on at once; past a share of it by priority, 503 + "
        "Retry-After at once (0: no limit)"))] = 100


def from_static(kind: type[L], static: ServiceSettings) -> L:
    """``kind``'s values: its defaults, and the static value of every field named alike."""
    values = {field.name: getattr(static, field.name)
              for field in msgspec.structs.fields(kind) if hasattr(static, field.name)}
    return msgspec.convert(values, kind, from_attributes=True)


class KeyError_(ValueError):
    """A key that is not ``[SERVICE.]SETTING``."""


def parse_key(text: str) -> tuple[str, str]:
    """``"payments.decline_rate"`` → ``("payments", "decline_rate")``; ``"log_level"`` and
    ``"platform.log_level"`` → ``("platform", "log_level")``."""
    scope, _, name = text.strip().rpartition(".")
    scope = scope or PLATFORM
    if not _SERVICE.match(scope):
        raise KeyError_(f"{text!r}: the service must be lower-case letters, digits, - or _")
    if not _NAME.match(name):
        raise KeyError_(f"{text!r}: the setting must be lower-case letters, digits or _")
    return scope, name


def store_key(scope: str, name: str) -> str:
    return f"{scope}.{name}"


class Record(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One revision of a key: its value (``unset``: the override removed, the static value
    applies again) and the change's audit."""

    value: Any = None
    unset: bool = False
    by: str = ""
    at: str = ""  # ISO 8601, UTC
    old: Any = None
    old_unset: bool = True  # the key had no value before
    action: Literal["set", "unset", "rollback"] = "set"
    rollback_to: int = 0  # the revision whose value a rollback restored


def default_author() -> str:
    """``user@host`` of this process, for the audit of a change made without ``--by``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
