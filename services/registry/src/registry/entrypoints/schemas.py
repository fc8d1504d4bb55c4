"""The registry API's bodies, as msgspec Structs. The chassis's discovery client and registration
(chassis.discovery) read and send these shapes, and Prometheus reads ``TargetGroup``: they stay
exactly as they are."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

from registry.domain.directory import Instance
from registry.service.registry import ServiceSummary, Snapshot

__all__ = ["SERVICE_NAME", "InstanceList", "InstanceOut", "RegisterInstance", "ServiceList",
           "ServiceSummaryOut", "SnapshotOut", "TargetGroup"]

SERVICE_NAME = r"^[a-z][a-z0-9-]{0,62}$"
_PORT = r"(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# a base URL: scheme, host (a name, an IPv4 or a bracketed IPv6 address) and port, nothing more
BASE_URL = rf"^https?://(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):{_PORT}/?$"

Status = Literal["passing", "critical"]


class RegisterInstance(msgspec.Struct, frozen=True):
    service: Annotated[str, Meta(pattern=SERVICE_NAME)]
    url: Annotated[str, Meta(max_length=256, pattern=BASE_URL,
                             description="base URL, e.g. http://127.0.0.1:9001")]
    metadata: Annotated[dict[str, str], Meta(max_length=32)] = msgspec.field(
        default_factory=dict)

    def __post_init__(self) -> None:
        # the pattern cannot tell a bracketed IPv6 address from other bracketed text; the
        # parser everyone reading the URL uses can (a ValueError here is a 422)
        urlsplit(self.url).port  # noqa: B018 - parsing is the check


class InstanceOut(msgspec.Struct, frozen=True):
    instance_id: str
    service: str
    url: str
    status: Status
    metadata: dict[str, str]
    registered_at: Annotated[float, Meta(description="Unix seconds")]
    last_heartbeat: Annotated[float, Meta(description="Unix seconds")]
    restarts: Annotated[int, Meta(description=(
        "how often a new process registered this instance id again (its `started_at` "
        "metadata changed) since it was first registered; a deregistration starts over"))] = 0

    @classmethod
    def of(cls, inst: Instance) -> InstanceOut:
        return cls(instance_id=inst.instance_id, service=inst.service, url=inst.url,
                   status="passing" if inst.status == "passing" else "critical",
                   metadata=inst.metadata, registered_at=inst.registered_at,
                   last_heartbeat=inst.last_heartbeat, restarts=inst.restarts)


class SnapshotOut(msgspec.Struct, frozen=True):
    epoch: Annotated[str, Meta(description="changes when the registry restarts")]
    version: Annotated[int, Meta(description="grows with every visible change")]
    instances: list[InstanceOut]

    @classmethod
    def of(cls, snap: Snapshot) -> SnapshotOut:
        return cls(epoch=snap.epoch, version=snap.version,
                   instances=[InstanceOut.of(i) for i in snap.instances])


class InstanceList(msgspec.Struct, frozen=True):
    items: list[InstanceOut]


class ServiceSummaryOut(msgspec.Struct, frozen=True):
    name: str
    instances: int
    passing: int

    @classmethod
    def of(cls, summary: ServiceSummary) -> ServiceSummaryOut:
        return cls(name=summary.name, instances=summary.instances, passing=summary.passing)


class ServiceList(msgspec.Struct, frozen=True):
    items: list[ServiceSummaryOut]


class TargetGroup(msgspec.Struct, frozen=True):
    """One group of Prometheus' HTTP service discovery (its format, not ours)."""

    targets: list[str]
    labels: dict[str, str]
