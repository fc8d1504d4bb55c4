"""chassis.live against a real nats-server: the watch applies changes, refuses bad values, keeps
the running values while the broker is away and starts from its cache when the store is out of
reach."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest
from msgspec import Meta

from chassis.broker import Broker
from chassis.live import Live, Record, ServiceLiveSettings
from chassis.live.store import history, open_bucket, write
from chassis.settings import ServiceSettings, Share
from chassis.testing import free_port, nats_server
from chassis.testing.service import eventually
from contracts.inventory import ReserveStock

pytestmark = pytest.mark.integration


class DemoSettings(ServiceSettings, frozen=True, kw_only=True):
    service_name: str = "demo"
    decline_rate: Share = 0.1


class DemoLive(ServiceLiveSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    decline_rate: Share = 0.0
    latency_ms: Annotated[int, Meta(ge=0, le=60_000)] = 0


@contextlib.asynccontextmanager
async def _broker(url: str) -> AsyncIterator[Broker]:
    broker = Broker(url, name="test", connect_timeout=0.2)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.close()


async def _put(url: str, key: str, value: Any, **audit: Any) -> int:
    async with _broker(url) as broker:
        await broker.wait_connected(5)
        kv = await open_bucket(broker.jetstream())
        return await write(kv, key, Record(value=value, **audit))


async def test_a_change_in_the_store_reaches_the_bound_objects(tmp_path: Path) -> None:
    with nats_server(tmp_path / "js") as url:
        async with _broker(url) as broker:
            live = Live("demo", "demo-1", DemoLive, DemoSettings(), cache=tmp_path / "c.json")
            seen: list[float] = []
            live.bind(lambda values: seen.append(values.decline_rate), "decline_rate")
            await live.start(broker)
            assert live.current.decline_rate == 0.1  # the static value, nothing stored yet
            await _put(url, "demo.decline_rate", 0.5, by="ops@test", old=None)
            await _put(url, "demo.latency_ms", 7)  # not bound to the callback's field

            async def applied() -> bool:
                return live.current.latency_ms == 7

            await eventually(applied)
            assert live.current.decline_rate == 0.5 and seen == [0.1, 0.5]
            assert live.sources()["decline_rate"] == "service"
            kept = await history(await open_bucket(broker.jetstream()), "demo.decline_rate")
            assert [(r.record.value, r.record.by) for r in kept] == [(0.5, "ops@test")]
            await live.close()


async def test_a_service_key_overrides_the_platform_key_and_unset_falls_back(
        tmp_path: Path) -> None:
    with nats_server(tmp_path / "js") as url:
        async with _broker(url) as broker:
            live = Live("demo", "demo-1", DemoLive, DemoSettings())
            await live.start(broker)
            await _put(url, "platform.log_level", "debug")
            await _put(url, "other.log_level", "error")  # another service's key: not ours

            async def level(expected: str) -> bool:
                return live.current.log_level == expected

            await eventually(lambda: level("debug"))
            await _put(url, "demo.log_level", "warning")
            await eventually(lambda: level("warning"))
            async with _broker(url) as writer:
                await writer.wait_connected(5)
                kv = await open_bucket(writer.jetstream())
                await write(kv, "demo.log_level", Record(unset=True, action="unset"))
            await eventually(lambda: level("debug"))
            assert live.sources()["log_level"] == "platform"
            await live.close()


async def test_a_bad_value_is_refused_and_the_running_value_stays(tmp_path: Path) -> None:
    with nats_server(tmp_path / "js") as url:
        async with _broker(url) as broker:
            live = Live("demo", "demo-1", DemoLive, DemoSettings())
            await live.start(broker)
            await _put(url, "demo.decline_rate", 0.3)

            async def rate(expected: float) -> bool:
                return live.current.decline_rate == expected

            await eventually(lambda: rate(0.3))
            await _put(url, "demo.decline_rate", 1.5)
            await _put(url, "demo.no_such_setting", 1)
            await _put(url, "demo.latency_ms", 5)  # a later good change still applies

            async def latency() -> bool:
                return live.current.latency_ms == 5

            await eventually(latency)
            assert live.current.decline_rate == 0.3
            assert "<= 1.0" in live.refused["demo.decline_rate"]
            assert "no live setting" in live.refused["demo.no_such_setting"]
            await live.close()


async def test_keeps_its_values_while_the_broker_is_away_and_follows_it_back(
        tmp_path: Path) -> None:
    port, store, cache = free_port(), tmp_path / "js", tmp_path / "c.json"
    broker = Broker(f"nats://127.0.0.1:{port}", name="test", connect_timeout=0.2)
    live = Live("demo", "demo-1", DemoLive, DemoSettings(), cache=cache)

    async def rate(expected: float) -> bool:
        return live.current.decline_rate == expected

    try:
        with nats_server(store, port) as url:
            await broker.start()
            await live.start(broker)
            await _put(url, "demo.decline_rate", 0.7)
            await eventually(lambda: rate(0.7))
        # the server has stopped: the running value stays
        assert live.current.decline_rate == 0.7
        # a process starting now, with the store out of reach, starts from the cache
        async with _broker(f"nats://127.0.0.1:{port}") as away:
            restarted = Live("demo", "demo-2", DemoLive, DemoSettings(), cache=cache)
            await restarted.start(away, wait=0.3)
            assert restarted.current.decline_rate == 0.7
            assert restarted.sources()["decline_rate"] == "service"
            await restarted.close()
        with nats_server(store, port) as url:  # the same server back: the watch starts again
            await _put(url, "demo.decline_rate", 0.2)
            await eventually(lambda: rate(0.2), timeout=15)
            await live.close()
    finally:
        await live.close()
        await broker.close()


def test_the_cache_holds_the_layers_not_the_merged_values(tmp_path: Path) -> None:
    cache = tmp_path / "c.json"
    live = Live("demo", "demo-1", DemoLive, DemoSettings(), cache=cache)
    live.apply([("demo.latency_ms", Record(value=9)), ("platform.log_level", Record(value="error"))])
    saved = msgspec.json.decode(cache.read_bytes())
    assert saved["layers"] == {"platform": {"log_level": "error"}, "demo": {"latency_ms": 9}}


async def test_history_and_read_all_return_every_revision_and_key(tmp_path: Path) -> None:
    """One-shot reads (souk config history, list) are whole, whatever the timing."""
    from chassis.live.store import read_all

    with nats_server(tmp_path / "js") as url:
        async with _broker(url) as broker:
            await broker.wait_connected(5)
            kv = await open_bucket(broker.jetstream())
            assert await history(kv, "demo.x") == [] and await read_all(kv) == {}
            for value in range(70):  # more than the 64 kept
                await write(kv, "demo.x", Record(value=value))
            for n in range(30):
                await write(kv, f"svc{n}.y", Record(value=n))
            await write(kv, "svc0.y", Record(unset=True, action="unset"))
            kept = await history(kv, "demo.x")
            assert [r.record.value for r in kept] == list(range(6, 70))
            latest = await read_all(kv)
            assert len(latest) == 31 and latest["demo.x"].record.value == 69
            assert latest["svc0.y"].record.unset and latest["svc7.y"].record.value == 7


async def test_a_service_apps_concurrency_limit_follows_the_store(tmp_path: Path) -> None:
    """``max_concurrency`` is live: the admission limit of a running service changes with it,
    and unsetting it brings the static limit back."""
    from chassis import create_service_app
    from chassis.testing import serve_app

    with nats_server(tmp_path / "js") as url:
        settings = DemoSettings(nats_url=url, max_concurrency=100,
                                live_cache=str(tmp_path / "demo.live.json"))
        app = create_service_app(settings, title="demo", verify_tokens=False, register=False)
        async with serve_app(app):
            assert app.admission.limit == 100
            await _put(url, "demo.max_concurrency", 3)

            async def limited() -> bool:
                return bool(app.admission.limit == 3)

            await eventually(limited)
            await _put(url, "demo.max_concurrency", 0)  # no limit

            async def unlimited() -> bool:
                return bool(app.admission.limit == 0)

            await eventually(unlimited)


async def test_a_service_publishes_the_routes_and_message_types_its_fault_rules_may_name(
        tmp_path: Path) -> None:
    """What `souk config` checks a fault rule against (a rule for a route the service has not
    would do nothing): its routes as the OpenAPI document names them, the message types it
    handles by wire and class name (none here: ``fault_targets`` with handlers is below)."""
    from chassis import create_service_app
    from chassis.live.admin import Refused, Store
    from chassis.live.store import open_services
    from chassis.testing import serve_app
    from chassis.web import Router

    router = Router()

    @router.get("/v1/stock/{sku}")
    async def stock(sku: str) -> dict[str, str]:
        return {"sku": sku}

    with nats_server(tmp_path / "js") as url:
        settings = DemoSettings(nats_url=url, live_cache=str(tmp_path / "demo.live.json"))
        app = create_service_app(settings, title="demo", verify_tokens=False, register=False,
                                 routers=[router])
        async with serve_app(app), _broker(url) as broker:
            await broker.wait_connected(5)
            js = broker.jetstream()
            store = Store(await open_bucket(js), await open_services(js))

            async def published() -> bool:
                return "demo" in await store.docs()

            await eventually(published)
            targets = (await store.docs())["demo"].fault_targets
            assert "GET /v1/stock/{sku}" in targets["routes"]
            assert "GET /health/ready" in targets["routes"]  # named, it is faulted too
            assert targets["message_types"] == []
            await store.check("demo.fault_routes", [{"route": "GET /v1/stock/{sku}"}])
            with pytest.raises(Refused, match="demo has no route 'POST /v1/stock'"):
                await store.check("demo.fault_routes", [{"route": "POST /v1/stock"}])
            assert list((await store.docs())["demo"].instances) == [settings.instance_id]
        # stopped, the instance takes back what it published of itself (scaled down, it was
        # still listed as running its last values); the service's schema stays
        async with _broker(url) as broker:
            await broker.wait_connected(5)
            js = broker.jetstream()
            left = (await Store(await open_bucket(js), await open_services(js)).docs())["demo"]
            assert left.instances == {} and left.fault_targets["routes"]


def test_the_fault_targets_name_the_message_types_handled() -> None:
    from chassis import create_service_app
    from chassis.app import fault_targets
    from chassis.messaging import MessageHandlers

    handlers = MessageHandlers()

    @handlers.on(ReserveStock)
    async def on_reserve_stock(command: ReserveStock) -> None:
        return None

    app = create_service_app(DemoSettings(), title="demo", verify_tokens=False, register=False)
    assert fault_targets(app, handlers)["message_types"] == [
        "ReserveStock", "inventory.ReserveStock.v1"]
    assert fault_targets(app, None)["message_types"] == []
