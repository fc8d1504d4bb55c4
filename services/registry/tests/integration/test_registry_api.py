"""The registry over real HTTP and a real SQLite file, with the chassis clients against it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from chassis import ServiceSettings, create_service_app
from chassis.discovery import Discovery
from chassis.testing import free_port, serve_app
from registry.app import create_app
from registry.settings import RegistrySettings

pytestmark = pytest.mark.integration


def registry_settings(tmp_path: Path, port: int, **over: object) -> RegistrySettings:
    base: dict[str, object] = {
        "port": port, "database_url": f"sqlite:///{tmp_path}/registry.db",
        "check_interval": 0.2, "check_timeout": 0.5, "ttl": 3.0}
    base.update(over)
    return RegistrySettings(**base)  # type: ignore[arg-type]


@pytest.fixture
async def registry_url(tmp_path: Path) -> AsyncIterator[str]:
    port = free_port()
    async with serve_app(create_app(registry_settings(tmp_path, port)), port=port) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def service_app(registry_url: str, name: str, port: int,  # type: ignore[no-untyped-def]
                heartbeat: float = 0.3):
    settings = ServiceSettings(service_name=name, port=port, instance_id=f"{name}-{port}",
                               registry_url=registry_url, heartbeat_interval=heartbeat)
    return create_service_app(settings, title=name, use_broker=False)


async def eventually(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.05)


async def test_register_heartbeat_list_and_deregister(registry_url: str,
                                                     http: aiohttp.ClientSession) -> None:
    body = {"service": "catalog", "url": "http://127.0.0.1:1", "metadata": {"version": "1"}}
    async with http.put(f"{registry_url}/v1/instances/catalog-1", json=body) as r:
        assert r.status == 200
        assert (await r.json())["status"] == "passing"
    async with http.put(f"{registry_url}/v1/instances/catalog-1/heartbeat") as r:
        assert r.status == 204
    async with http.get(f"{registry_url}/v1/services/catalog/instances?status=any") as r:
        assert [i["instance_id"] for i in (await r.json())["items"]] == ["catalog-1"]
    async with http.delete(f"{registry_url}/v1/instances/catalog-1") as r:
        assert r.status == 204
    async with http.put(f"{registry_url}/v1/instances/catalog-1/heartbeat") as r:
        assert r.status == 404
        assert r.content_type == "application/problem+json"


@pytest.mark.parametrize("body", [
    {"service": "Catalog!", "url": "http://127.0.0.1:1"},
    {"service": "catalog", "url": "ftp://127.0.0.1:1"},
    {"service": "catalog", "url": "http://127.0.0.1"},
    {"service": "catalog", "url": "http://127.0.0.1:1/path"},
    {"service": "catalog"},
])
async def test_bad_registrations_are_422_problems(registry_url: str, http: aiohttp.ClientSession,
                                                  body: dict[str, str]) -> None:
    async with http.put(f"{registry_url}/v1/instances/x-1", json=body) as r:
        assert r.status == 422
        assert r.content_type == "application/problem+json"


async def test_bad_parameters_are_400_problems(registry_url: str,
                                               http: aiohttp.ClientSession) -> None:
    for path in ("/v1/watch?version=abc", "/v1/watch?timeout=-1",
                 "/v1/services/catalog/instances?status=zombie", "/v1/instances/..%2Fetc"):
        async with http.get(f"{registry_url}{path}") as r:
            assert r.status in (400, 404), path
            assert r.content_type == "application/problem+json", path


async def test_watch_returns_when_an_instance_registers(registry_url: str,
                                                        http: aiohttp.ClientSession) -> None:
    async with http.get(f"{registry_url}/v1/watch") as r:
        first = await r.json()

    async def long_poll() -> dict[str, object]:
        params = {"epoch": first["epoch"], "version": first["version"], "timeout": 10}
        async with http.get(f"{registry_url}/v1/watch", params=params) as r:
            return dict(await r.json())

    waiter = asyncio.create_task(long_poll())
    await asyncio.sleep(0.2)
    assert not waiter.done()
    body = {"service": "catalog", "url": "http://127.0.0.1:1"}
    async with http.put(f"{registry_url}/v1/instances/catalog-9", json=body):
        pass
    snapshot = await asyncio.wait_for(waiter, 2)
    assert snapshot["version"] > first["version"]
    assert [i["instance_id"] for i in snapshot["instances"]] == ["catalog-9"]  # type: ignore[attr-defined]


async def test_service_registers_once_ready_and_dead_instance_turns_critical_then_is_evicted(
        registry_url: str, http: aiohttp.ClientSession) -> None:
    port = free_port()
    discovery = Discovery(registry_url, watch_timeout=2)
    await discovery.start()
    try:
        async with serve_app(service_app(registry_url, "catalog", port), port=port):
            found = await discovery.wait_for("catalog", timeout=5)
            assert [i.url for i in found] == [f"http://127.0.0.1:{port}"]
        # the app deregistered on shutdown: discovery sees it go within the watch
        await eventually(lambda: _async(not discovery.instances("catalog")))

        # now a process that dies without deregistering: health checks flag it, TTL evicts it
        app = service_app(registry_url, "catalog", port)
        async with serve_app(app, port=port):
            await discovery.wait_for("catalog", timeout=5)
            app.state.runtime.registration._task.cancel()  # dies silently: no deregistration
        await eventually(lambda: _async(not discovery.instances("catalog")), timeout=3)

        async def gone() -> bool:
            async with http.get(f"{registry_url}/v1/services/catalog/instances?status=any") as r:
                return (await r.json())["items"] == []
        await eventually(gone, timeout=6)
    finally:
        await discovery.close()


async def test_prometheus_sd_lists_every_instance(registry_url: str,
                                                  http: aiohttp.ClientSession) -> None:
    for n in (1, 2):
        body = {"service": "catalog", "url": f"http://127.0.0.1:{9000 + n}"}
        async with http.put(f"{registry_url}/v1/instances/catalog-{n}", json=body):
            pass
    async with http.get(f"{registry_url}/v1/sd/prometheus") as r:
        groups = await r.json()
    assert sorted(g["targets"][0] for g in groups) == ["127.0.0.1:9001", "127.0.0.1:9002"]
    assert {g["labels"]["service"] for g in groups} == {"catalog"}
    assert {g["labels"]["__metrics_path__"] for g in groups} == {"/metrics"}
    assert sorted(g["labels"]["instance"] for g in groups) == ["catalog-1", "catalog-2"]
    assert {g["labels"]["__scheme__"] for g in groups} == {"http"}


async def test_registrations_survive_a_registry_restart(tmp_path: Path) -> None:
    port, svc_port = free_port(), free_port()
    registry_url = f"http://127.0.0.1:{port}"
    # a long heartbeat interval: the instance cannot re-register during the test, so what the
    # restarted registry lists it must have remembered
    app = service_app(registry_url, "catalog", svc_port, heartbeat=60.0)
    async with serve_app(app, port=svc_port), aiohttp.ClientSession() as http:
        async with serve_app(create_app(registry_settings(tmp_path, port)), port=port):
            await asyncio.wait_for(app.state.runtime.registration.registered.wait(), 5)
        async with serve_app(create_app(registry_settings(tmp_path, port)), port=port), \
                http.get(f"{registry_url}/v1/services/catalog/instances") as r:
            assert [i["url"] for i in (await r.json())["items"]] == [f"http://127.0.0.1:{svc_port}"]


async def test_an_instance_the_registry_forgot_registers_again(tmp_path: Path) -> None:
    port, svc_port = free_port(), free_port()
    registry_url = f"http://127.0.0.1:{port}"
    app = service_app(registry_url, "catalog", svc_port)
    async with serve_app(app, port=svc_port), aiohttp.ClientSession() as http:
        async with serve_app(create_app(registry_settings(tmp_path / "a", port)), port=port):
            await asyncio.wait_for(app.state.runtime.registration.registered.wait(), 5)
        # a registry that lost its database: the heartbeat gets 404 and the instance registers
        async with serve_app(create_app(registry_settings(tmp_path / "b", port)), port=port):

            async def listed() -> bool:
                async with http.get(f"{registry_url}/v1/services/catalog/instances") as r:
                    return len((await r.json())["items"]) == 1
            await eventually(listed, timeout=5)


async def _async(value: bool) -> bool:
    return value


async def test_discovery_keeps_serving_from_cache_while_the_registry_is_down(
        tmp_path: Path) -> None:
    port, svc_port = free_port(), free_port()
    registry_url = f"http://127.0.0.1:{port}"
    discovery = Discovery(registry_url, watch_timeout=1)
    async with serve_app(service_app(registry_url, "catalog", svc_port), port=svc_port):
        async with serve_app(create_app(registry_settings(tmp_path, port)), port=port):
            await discovery.start()
            await discovery.wait_for("catalog", timeout=5)
            assert discovery.registry_reachable
        await eventually(lambda: _async(not discovery.registry_reachable), timeout=5)
        assert [i.url for i in discovery.instances("catalog")] == [f"http://127.0.0.1:{svc_port}"]
        assert discovery.pick("catalog") is not None
        # and it catches up once the registry is back
        async with serve_app(create_app(registry_settings(tmp_path, port)), port=port):
            await eventually(lambda: _async(discovery.registry_reachable), timeout=5)
    await discovery.close()


async def test_an_abandoned_watch_does_not_hold_the_registry(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(registry_settings(tmp_path, port))
    async with serve_app(app, port=port), aiohttp.ClientSession() as http:
        async with http.get(f"{url}/v1/watch") as r:
            snap = await r.json()
        params = {"epoch": snap["epoch"], "version": snap["version"], "timeout": 30}
        poll = asyncio.create_task(http.get(f"{url}/v1/watch", params=params).__aenter__())
        await asyncio.sleep(0.3)
        poll.cancel()  # the watcher hangs up mid long-poll
        with contextlib.suppress(asyncio.CancelledError):
            await poll
        started = asyncio.get_running_loop().time()
    # serve_app waited for in-flight requests on the way out: none was left hanging
    assert asyncio.get_running_loop().time() - started < 3
