"""The registry's HTTP API (``/v1``). Every service's chassis calls it (chassis.discovery:
register, heartbeat, deregister, watch) and Prometheus reads its service discovery, so its paths
and shapes stay exactly as they are.

The registry is the root of trust of discovery: verifiers fetch signing keys from the identity
it lists, services send their secrets there. So registering, heartbeating and deregistering need
the credential of the service the instance belongs to (HTTP Basic: the service's name and the
secret the launcher generated for it; the registry holds only their SHA-256), and an instance id
stays with the service that registered it. No token: instances register before they could get
one. Reads stay open (Prometheus reads the service discovery)."""

from __future__ import annotations

import asyncio
import binascii
import contextlib
from base64 import b64decode
from typing import Annotated, Literal
from urllib.parse import urlsplit

from chassis.auth import ServiceCredentials
from chassis.problems import Problem
from chassis.tasks import cancel_and_wait
from chassis.web import Path, Priority, Query, Request, Response, Router, json_response
from registry.domain.directory import NotYourInstance, UnknownInstance
from registry.entrypoints.schemas import (
    SERVICE_NAME,
    InstanceList,
    InstanceOut,
    RegisterInstance,
    ServiceList,
    ServiceSummaryOut,
    SnapshotOut,
    TargetGroup,
)
from registry.service.registry import RegistryService
from registry.settings import RegistrySettings

__all__ = ["router"]

router = Router(tags=["registry"])

InstanceId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
ServiceName = Annotated[str, Path(pattern=SERVICE_NAME)]

_CREDENTIAL = {401: "no valid service credential (HTTP Basic: service name, secret) "
                    "(registry/unauthenticated)"}


def _caller(request: Request, credentials: ServiceCredentials) -> str:
    """The service whose credential the request carries; 401 problem otherwise."""
    scheme, _, encoded = (request.header("authorization") or "").partition(" ")
    service = secret = ""
    if scheme.lower() == "basic":
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            service, _, secret = b64decode(encoded.strip(), validate=True).decode().partition(":")
    if not service or not credentials.check(service, secret):
        raise Problem(401, "registry/unauthenticated",
                      "register with your service's credential (HTTP Basic)",
                      headers={"WWW-Authenticate": 'Basic realm="souk-registry"'})
    return service


@router.put("/v1/instances/{instance_id}", raises=(NotYourInstance,), problems=_CREDENTIAL)
async def register(instance_id: InstanceId, body: RegisterInstance, request: Request,
                   registry: RegistryService, credentials: ServiceCredentials) -> InstanceOut:
    """Register (or re-register) an instance of the calling service; idempotent.

    It starts as passing: instances register once they serve."""
    if _caller(request, credentials) != body.service:
        raise NotYourInstance("a service registers only its own instances")
    return InstanceOut.of(await registry.register(instance_id, body.service,
                                                  body.url.rstrip("/"), body.metadata))


@router.put("/v1/instances/{instance_id}/heartbeat", status=204,
            raises=(UnknownInstance, NotYourInstance), problems=_CREDENTIAL)
async def heartbeat(instance_id: InstanceId, request: Request, registry: RegistryService,
                    credentials: ServiceCredentials) -> None:
    """Keep an instance alive; 404 means the registry forgot it and it must register again."""
    await registry.heartbeat(instance_id, _caller(request, credentials))


@router.delete("/v1/instances/{instance_id}", status=204, raises=(NotYourInstance,),
               problems=_CREDENTIAL)
async def deregister(instance_id: InstanceId, request: Request, registry: RegistryService,
                     credentials: ServiceCredentials) -> None:
    """Remove an instance (it is shutting down); an unknown one is already gone."""
    await registry.deregister(instance_id, _caller(request, credentials))


@router.get("/v1/instances/{instance_id}", raises=(UnknownInstance,))
async def get_instance(instance_id: InstanceId, registry: RegistryService) -> InstanceOut:
    """One instance."""
    return InstanceOut.of(registry.directory.get(instance_id))


@router.get("/v1/services")
async def list_services(registry: RegistryService) -> ServiceList:
    """Every service with registered instances, by name."""
    return ServiceList(items=[ServiceSummaryOut.of(s) for s in registry.services()])


@router.get("/v1/services/{service}/instances")
async def list_instances(
        service: ServiceName, registry: RegistryService,
        status: Annotated[Literal["passing", "critical", "any"], Query()] = "passing",
) -> InstanceList:
    """A service's instances (the passing ones unless asked otherwise)."""
    return InstanceList(items=[InstanceOut.of(i) for i in registry.directory.of_service(service)
                               if status == "any" or i.status == status])


@router.get("/v1/watch", responses={
    200: (SnapshotOut, "the directory, once it differs from (epoch, version) or at the timeout"),
    204: (None, "the watcher hung up before an answer (nobody reads this)")},
    priority=Priority.EXEMPT)  # a long poll waits rather than works
async def watch(request: Request, registry: RegistryService, settings: RegistrySettings,
                epoch: Annotated[str, Query(max_length=64)] = "",
                version: Annotated[int, Query(ge=-1)] = -1,
                timeout: Annotated[float, Query(ge=0, description="seconds")] = 0.0) -> Response:
    """Long poll: the directory once it differs from the caller's (epoch, version).

    Answers at once when the caller's view is stale, else at the first change or after `timeout`
    seconds (at most the registry's `max_watch_seconds`). A watcher that hangs up is noticed at
    once: otherwise every abandoned long poll would hold a task (and the registry's graceful
    shutdown) until its timeout."""
    waiting = asyncio.ensure_future(
        registry.watch(epoch, version, min(timeout, settings.max_watch_seconds)))
    hung_up = asyncio.ensure_future(request.disconnected())
    try:
        await asyncio.wait({waiting, hung_up}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait(*(task for task in (hung_up, waiting) if not task.done()))
    if waiting.cancelled():
        return Response(status=204)
    return json_response(SnapshotOut.of(waiting.result()))


@router.get("/v1/sd/prometheus")
async def prometheus_targets(registry: RegistryService) -> list[TargetGroup]:
    """Prometheus HTTP service discovery: one target group per instance.

    Passing or not: a failing instance should show up as `up == 0`, not vanish. So does one
    evicted for missing heartbeats (a crash, a hang), for `REGISTRY_KEEP_GONE` seconds after (a
    graceful deregistration leaves at once). `instance` is the registry's instance id
    (`orders-1`), which outlives a restart on a new port, rather than Prometheus' default
    `host:port`; `job` is left to the scrape config."""
    groups = []
    directory = registry.directory
    for inst in [*directory.all(), *directory.recently_gone(registry.clock())]:
        parts = urlsplit(inst.url)
        groups.append(TargetGroup(targets=[parts.netloc], labels={
            "service": inst.service, "instance": inst.instance_id,
            "instance_id": inst.instance_id,
            "__scheme__": parts.scheme, "__metrics_path__": "/metrics"}))
    return groups
