"""The registry with the clients every service runs (chassis.discovery: registration and the
watching discovery cache), over real HTTP on both databases."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest

from chassis.discovery import Discovery
from chassis.testing import free_port, serve_app, temporary_database
from chassis.testing.service import eventually

from .conftest import StartRegistry, listed, service_app

pytestmark = pytest.mark.integration


async def test_a_service_registers_once_ready_and_deregisters_when_it_stops(
        registry_url: str) -> None:
    port = free_port()
    discovery = Discovery(registry_url, watch_timeout=2)
    await discovery.start()
    try:
        async with serve_app(service_app(registry_url, "catalog", port), port=port):
            found = await discovery.wait_for("catalog", timeout=5)
            assert [(i.url, i.metadata["version"]) for i in found] == [
                (f"http://127.0.0.1:{port}", "1.0.0")]
            # the process's start time: a new one tells the registry it restarted
            assert abs(float(found[0].metadata["started_at"]) - time.time()) < 60
        # deregistered on the way out: discovery sees it go within its watch
        await eventually(lambda: _now(not discovery.instances("catalog")), timeout=5)
    finally:
        await discovery.close()


async def test_an_instance_nothing_answers_for_turns_critical_then_is_evicted(
        registry_url: str, http: aiohttp.ClientSession) -> None:
    discovery = Discovery(registry_url, watch_timeout=2)
    await discovery.start()
    try:
        # a process that died without deregistering: nothing listens on its port any more
        url = f"http://127.0.0.1:{free_port()}"
        async with http.put(f"{registry_url}/v1/instances/catalog-1",
                            json={"service": "catalog", "url": url}) as r:
            assert r.status == 200
        await discovery.wait_for("catalog", timeout=5)

        async def critical() -> bool:
            return [i["status"] for i in await listed(http, registry_url, "catalog")] == [
                "critical"]

        await eventually(critical, timeout=5)  # a refused connection: critical at once
        await eventually(lambda: _now(not discovery.instances("catalog")), timeout=5)

        async def evicted() -> bool:  # no heartbeat within the TTL (3 s here)
            return await listed(http, registry_url, "catalog") == []

        await eventually(evicted, timeout=10)
    finally:
        await discovery.close()


async def test_registrations_survive_a_registry_restart(start_registry: StartRegistry,
                                                        registry_port: int) -> None:
    registry_url = f"http://127.0.0.1:{registry_port}"
    svc_port = free_port()
    # a long heartbeat interval: the instance cannot re-register during the test, so what the
    # restarted registry lists it must have remembered; a long TTL: the first run does not
    # evict it while its shutdown waits for catalog's discovery watch to drain
    app = service_app(registry_url, "catalog", svc_port, heartbeat=60.0)
    async with AsyncExitStack() as first_run:  # started before catalog, stopped before it
        await first_run.enter_async_context(start_registry(ttl=60.0))
        async with serve_app(app, port=svc_port), aiohttp.ClientSession() as http:
            registration = app.runtime.registration  # type: ignore[attr-defined]
            await asyncio.wait_for(registration.registered.wait(), 5)
            await first_run.aclose()
            async with start_registry():
                passing = await listed(http, registry_url, "catalog", "passing")
                assert [i["url"] for i in passing] == [f"http://127.0.0.1:{svc_port}"]


async def test_an_instance_the_registry_forgot_registers_again(
        start_registry: StartRegistry, registry_port: int, database_url: str,
        tmp_path: Path) -> None:
    registry_url = f"http://127.0.0.1:{registry_port}"
    svc_port = free_port()
    app = service_app(registry_url, "catalog", svc_port)
    kind = "sqlite" if database_url.startswith("sqlite") else "postgres"
    async with serve_app(app, port=svc_port), aiohttp.ClientSession() as http, \
            temporary_database(kind, tmp_path, "empty") as empty:
        registration = app.runtime.registration  # type: ignore[attr-defined]
        async with start_registry():
            await asyncio.wait_for(registration.registered.wait(), 5)
        # a registry that lost its database: the heartbeat gets 404 and the instance registers
        async with start_registry(database_url=empty):

            async def listed_again() -> bool:
                return len(await listed(http, registry_url, "catalog", "passing")) == 1

            await eventually(listed_again, timeout=5)


async def test_discovery_keeps_serving_from_cache_while_the_registry_is_down(
        start_registry: StartRegistry, registry_port: int) -> None:
    registry_url = f"http://127.0.0.1:{registry_port}"
    svc_port = free_port()
    discovery = Discovery(registry_url, watch_timeout=1)
    try:
        async with serve_app(service_app(registry_url, "catalog", svc_port), port=svc_port):
            async with start_registry():
                await discovery.start()
                await discovery.wait_for("catalog", timeout=5)
                assert discovery.registry_reachable
            await eventually(lambda: _now(not discovery.registry_reachable), timeout=5)
            assert [i.url for i in discovery.instances("catalog")] == [
                f"http://127.0.0.1:{svc_port}"]
            assert discovery.pick("catalog") is not None
            # and it catches up once the registry is back
            async with start_registry():
                await eventually(lambda: _now(discovery.registry_reachable), timeout=5)
    finally:
        await discovery.close()


async def _now(value: bool) -> bool:
    return value
