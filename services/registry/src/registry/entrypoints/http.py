"""Registry HTTP API (``/v1``)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field, field_validator
from starlette.requests import Request

from registry.domain.directory import Instance
from registry.service.registry import RegistryService, Snapshot

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["registry"])

InstanceId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]


async def get_registry(request: Request) -> RegistryService:
    registry: RegistryService = request.app.state.runtime.extras["registry"]
    return registry


RegistryDep = Annotated[RegistryService, Depends(get_registry)]


class RegisterInstance(BaseModel):
    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    url: str = Field(max_length=256, description="base URL, e.g. http://127.0.0.1:9001")
    metadata: dict[str, str] = Field(default_factory=dict, max_length=32)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.port is None:
            raise ValueError("must be http(s)://host:port")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be a base URL without path, query or fragment")
        return value.rstrip("/")


class InstanceOut(BaseModel):
    instance_id: str
    service: str
    url: str
    status: Literal["passing", "critical"]
    metadata: dict[str, str]
    registered_at: float
    last_heartbeat: float

    @classmethod
    def of(cls, inst: Instance) -> InstanceOut:
        return cls(instance_id=inst.instance_id, service=inst.service, url=inst.url,
                   status=inst.status,
                   metadata=inst.metadata, registered_at=inst.registered_at,
                   last_heartbeat=inst.last_heartbeat)


class SnapshotOut(BaseModel):
    epoch: str
    version: int
    instances: list[InstanceOut]

    @classmethod
    def of(cls, snap: Snapshot) -> SnapshotOut:
        return cls(epoch=snap.epoch, version=snap.version,
                   instances=[InstanceOut.of(i) for i in snap.instances])


class InstanceList(BaseModel):
    items: list[InstanceOut]


class ServiceSummary(BaseModel):
    name: str
    instances: int
    passing: int


class ServiceList(BaseModel):
    items: list[ServiceSummary]


class TargetGroup(BaseModel):
    targets: list[str]
    labels: dict[str, str]


@router.put("/instances/{instance_id}", response_model=InstanceOut)
async def register(instance_id: InstanceId, body: RegisterInstance,
                   registry: RegistryDep) -> InstanceOut:
    """Register (or re-register) an instance; idempotent."""
    return InstanceOut.of(await registry.register(instance_id, body.service, body.url,
                                                  body.metadata))


@router.put("/instances/{instance_id}/heartbeat", status_code=204)
async def heartbeat(instance_id: InstanceId, registry: RegistryDep) -> Response:
    """Keep an instance alive; 404 means the registry forgot it and it must register again."""
    await registry.heartbeat(instance_id)
    return Response(status_code=204)


@router.delete("/instances/{instance_id}", status_code=204)
async def deregister(instance_id: InstanceId, registry: RegistryDep) -> Response:
    await registry.deregister(instance_id)
    return Response(status_code=204)


@router.get("/instances/{instance_id}", response_model=InstanceOut)
async def get_instance(instance_id: InstanceId, registry: RegistryDep) -> InstanceOut:
    return InstanceOut.of(registry.directory.get(instance_id))


@router.get("/services", response_model=ServiceList)
async def list_services(registry: RegistryDep) -> ServiceList:
    counts: dict[str, list[int]] = {}
    for inst in registry.directory.all():
        entry = counts.setdefault(inst.service, [0, 0])
        entry[0] += 1
        entry[1] += inst.status == "passing"
    return ServiceList(items=[ServiceSummary(name=n, instances=c[0], passing=c[1])
                              for n, c in sorted(counts.items())])


@router.get("/services/{service}/instances", response_model=InstanceList)
async def list_instances(
    service: Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,62}$")], registry: RegistryDep,
    status: Literal["passing", "critical", "any"] = "passing",
) -> InstanceList:
    return InstanceList(items=[InstanceOut.of(i) for i in registry.directory.of_service(service)
                               if status == "any" or i.status == status])


@router.get("/watch", response_model=SnapshotOut, responses={204: {"description": "client gone"}})
async def watch(
    request: Request, registry: RegistryDep,
    epoch: Annotated[str, Query(max_length=64)] = "",
    version: Annotated[int, Query(ge=-1)] = -1,
    timeout: Annotated[float, Query(ge=0)] = 0.0,
) -> SnapshotOut | Response:
    """Long-poll: answers when the directory differs from (epoch, version), or after ``timeout``.

    A watcher that hangs up is noticed at once: otherwise every abandoned long-poll would hold a
    task (and the registry's graceful shutdown) until its timeout.
    """
    limit = request.app.state.runtime.settings.max_watch_seconds
    waiting = asyncio.ensure_future(registry.watch(epoch, version, min(timeout, limit)))
    hung_up = asyncio.ensure_future(_client_gone(request))
    try:
        await asyncio.wait({waiting, hung_up}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hung_up.cancel()
        if not waiting.done():
            waiting.cancel()
    if waiting.cancelled():
        return Response(status_code=204)  # nobody is listening any more
    return SnapshotOut.of(waiting.result())


async def _client_gone(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


@router.get("/sd/prometheus", response_model=list[TargetGroup])
async def prometheus_targets(registry: RegistryDep) -> list[TargetGroup]:
    """Prometheus HTTP service discovery: one target group per instance, passing or not
    (a failing instance should show up as ``up == 0``, not vanish).

    ``instance`` is the registry's instance id (``orders-1``), which outlives a restart on a new
    port, rather than Prometheus' default ``host:port``; ``job`` is left to the scrape config."""
    groups = []
    for inst in registry.directory.all():
        parts = urlsplit(inst.url)
        groups.append(TargetGroup(targets=[f"{parts.hostname}:{parts.port}"], labels={
            "service": inst.service, "instance": inst.instance_id,
            "instance_id": inst.instance_id,
            "__scheme__": parts.scheme, "__metrics_path__": "/metrics"}))
    return groups
