"""The registry's HTTP API over real HTTP: the shapes the chassis clients and Prometheus read,
problems for bad requests, the long-poll watch."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import pytest

from chassis.testing.service import eventually

from ..conftest import StartRegistry, listed

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


async def put(http: aiohttp.ClientSession, url: str, body: Any = None) -> int:
    async with http.put(url, json=body) as r:
        return r.status


async def test_register_heartbeat_list_and_deregister(registry_url: str,
                                                     http: aiohttp.ClientSession) -> None:
    body = {"service": "catalog", "url": "http://127.0.0.1:1/", "metadata": {"version": "1"}}
    async with http.put(f"{registry_url}/v1/instances/catalog-1", json=body) as r:
        assert r.status == 200
        registered = await r.json()
    assert set(registered) == {"instance_id", "service", "url", "status", "metadata",
                               "registered_at", "last_heartbeat", "restarts"}
    assert (registered["status"], registered["url"]) == ("passing", "http://127.0.0.1:1")
    async with http.put(f"{registry_url}/v1/instances/catalog-1/heartbeat") as r:
        assert (r.status, await r.read()) == (204, b"")
    assert [i["instance_id"] for i in await listed(http, registry_url, "catalog")] == [
        "catalog-1"]
    async with http.get(f"{registry_url}/v1/instances/catalog-1") as r:
        assert (await r.json())["metadata"] == {"version": "1"}
    async with http.get(f"{registry_url}/v1/services") as r:
        assert (await r.json()) == {"items": [{"name": "catalog", "instances": 1,
                                               "passing": 1}]}
    async with http.delete(f"{registry_url}/v1/instances/catalog-1") as r:
        assert r.status == 204
    async with http.delete(f"{registry_url}/v1/instances/catalog-1") as r:
        assert r.status == 204  # already gone is gone
    async with http.put(f"{registry_url}/v1/instances/catalog-1/heartbeat") as r:
        assert r.status == 404 and r.content_type == PROBLEM
        assert (await r.json())["type"].endswith("registry/unknown-instance")
    async with http.get(f"{registry_url}/v1/instances/catalog-1") as r:
        assert r.status == 404


@pytest.mark.parametrize("body", [
    {"service": "Catalog!", "url": "http://127.0.0.1:1"},
    {"service": "catalog", "url": "ftp://127.0.0.1:1"},
    {"service": "catalog", "url": "http://127.0.0.1"},
    {"service": "catalog", "url": "http://127.0.0.1:1/path"},
    {"service": "catalog", "url": "http://127.0.0.1:1?q=1"},
    {"service": "catalog", "url": "http://127.0.0.1:65536"},
    {"service": "catalog", "url": "http://[eb]:1"},
    {"service": "catalog", "url": "http://127.0.0.1:1",
     "metadata": {str(n): "x" for n in range(33)}},
    {"service": "catalog"},
])
async def test_bad_registrations_are_422_problems(registry_url: str, http: aiohttp.ClientSession,
                                                  body: dict[str, Any]) -> None:
    async with http.put(f"{registry_url}/v1/instances/x-1", json=body) as r:
        assert r.status == 422
        assert r.content_type == PROBLEM


async def test_bad_parameters_are_400_problems(registry_url: str,
                                               http: aiohttp.ClientSession) -> None:
    for path in ("/v1/watch?version=abc", "/v1/watch?timeout=-1", "/v1/watch?wait=1",
                 "/v1/services/catalog/instances?status=zombie", "/v1/instances/..%2Fetc",
                 "/v1/services/Catalog!/instances"):
        async with http.get(f"{registry_url}{path}") as r:
            assert r.status in (400, 404), path
            assert r.content_type == PROBLEM, path


async def test_watch_returns_when_an_instance_registers(registry_url: str,
                                                        http: aiohttp.ClientSession) -> None:
    async with http.get(f"{registry_url}/v1/watch") as r:
        first = await r.json()
    assert set(first) == {"epoch", "version", "instances"}

    async def long_poll() -> dict[str, Any]:
        params = {"epoch": first["epoch"], "version": first["version"], "timeout": 10}
        async with http.get(f"{registry_url}/v1/watch", params=params) as r:
            return dict(await r.json())

    waiter = asyncio.create_task(long_poll())
    await asyncio.sleep(0.2)
    assert not waiter.done()
    await put(http, f"{registry_url}/v1/instances/catalog-9",
              {"service": "catalog", "url": "http://127.0.0.1:1"})
    snapshot = await asyncio.wait_for(waiter, 5)
    assert snapshot["version"] > first["version"]
    assert [i["instance_id"] for i in snapshot["instances"]] == ["catalog-9"]


async def test_an_idle_watch_answers_at_its_timeout_capped_by_the_registry(
        start_registry: StartRegistry, http: aiohttp.ClientSession) -> None:
    async with start_registry(max_watch_seconds=0.2) as url:
        async with http.get(f"{url}/v1/watch") as r:
            first = await r.json()
        params = {"epoch": first["epoch"], "version": first["version"], "timeout": 3600}
        async with asyncio.timeout(10), http.get(f"{url}/v1/watch", params=params) as r:
            assert r.status == 200 and (await r.json())["version"] == first["version"]


async def test_prometheus_sd_lists_every_instance_in_prometheus_shape(
        registry_url: str, http: aiohttp.ClientSession) -> None:
    for n in (1, 2):
        await put(http, f"{registry_url}/v1/instances/catalog-{n}",
                  {"service": "catalog", "url": f"http://127.0.0.1:{9000 + n}"})
    async with http.get(f"{registry_url}/v1/sd/prometheus") as r:
        assert r.content_type == "application/json"
        groups = await r.json()
    assert sorted(groups, key=lambda g: g["targets"]) == [
        {"targets": [f"127.0.0.1:{9000 + n}"],
         "labels": {"service": "catalog", "instance": f"catalog-{n}",
                    "instance_id": f"catalog-{n}", "__scheme__": "http",
                    "__metrics_path__": "/metrics"}} for n in (1, 2)]


async def test_prometheus_sd_keeps_an_evicted_instance_so_it_shows_down(
        start_registry: StartRegistry, http: aiohttp.ClientSession) -> None:
    """A crashed instance stops its heartbeats and is evicted in seconds: discovery dropped it
    and Prometheus forgot it (no `up == 0`, one tile fewer). It stays a target a while."""
    async with start_registry(ttl=0.3, check_interval=0.1, keep_gone=60) as url:
        await put(http, f"{url}/v1/instances/catalog-1",
                  {"service": "catalog", "url": "http://127.0.0.1:9001"})

        async def evicted() -> bool:
            async with http.get(f"{url}/v1/services/catalog/instances?status=any") as r:
                return r.status == 200 and not (await r.json())["items"]

        await eventually(evicted, timeout=10.0)
        async with http.get(f"{url}/v1/sd/prometheus") as r:
            groups = await r.json()
        assert [g["labels"]["instance"] for g in groups] == ["catalog-1"]


async def test_a_watch_ends_when_its_client_hangs_up(registry_url: str,
                                                    http: aiohttp.ClientSession) -> None:
    async with http.get(f"{registry_url}/v1/watch") as r:
        snap = await r.json()
    params = {"epoch": snap["epoch"], "version": snap["version"], "timeout": 30}
    poll = asyncio.create_task(http.get(f"{registry_url}/v1/watch", params=params).__aenter__())
    await asyncio.sleep(0.3)
    poll.cancel()  # the watcher hangs up mid long poll
    with contextlib.suppress(asyncio.CancelledError):
        await poll

    async def answered_nobody() -> bool:  # the handler ended with its "hung up" answer
        async with http.get(f"{registry_url}/metrics") as r:
            return any(line.startswith("souk_http_requests_total{") and 'route="/v1/watch"' in line
                       and 'status="204"' in line for line in (await r.text()).splitlines())

    await eventually(answered_nobody, timeout=10)
