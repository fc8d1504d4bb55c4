"""The registry's use cases (service/registry.py) against in-memory fakes."""

from __future__ import annotations

import asyncio

import pytest

from registry.domain.directory import CRITICAL, PASSING, Directory
from registry.service.registry import RegistryService, ServiceSummary

from .conftest import Clock, FakeProber, FakeUnitOfWork

pytestmark = pytest.mark.unit

A, B = "http://127.0.0.1:9001", "http://127.0.0.1:9002"


async def test_a_registration_is_stored_and_a_deregistration_removes_it(
        registry: RegistryService, uow: FakeUnitOfWork) -> None:
    await registry.register("catalog-1", "catalog", A, {"version": "1"})
    assert uow.rows["catalog-1"].metadata == {"version": "1"}
    await registry.deregister("catalog-1", "catalog")
    await registry.deregister("catalog-1", "catalog")  # twice is fine
    assert uow.rows == {}


async def test_a_restarted_registry_remembers_every_registration(
        registry: RegistryService, uow: FakeUnitOfWork, prober: FakeProber,
        clock: Clock) -> None:
    await registry.register("catalog-1", "catalog", A, {})
    restarted = RegistryService(Directory(ttl=10.0, failure_threshold=2), uow, prober,
                                clock=clock)
    await restarted.restore()
    assert [i.url for i in restarted.directory.all()] == [A]
    assert restarted.epoch != registry.epoch  # so watchers take a fresh snapshot


async def test_a_stale_watcher_is_answered_at_once(registry: RegistryService) -> None:
    await registry.register("catalog-1", "catalog", A, {})
    seen = registry.snapshot()
    assert (await registry.watch("another epoch", seen.version, 30)).version == seen.version
    assert (await registry.watch(seen.epoch, seen.version - 1, 30)).version == seen.version


async def test_a_watcher_is_woken_by_a_registration(registry: RegistryService) -> None:
    seen = registry.snapshot()
    waiting = asyncio.create_task(registry.watch(seen.epoch, seen.version, 30))
    await asyncio.sleep(0)
    assert not waiting.done()
    await registry.register("catalog-1", "catalog", A, {})
    answer = await asyncio.wait_for(waiting, 5)
    assert answer.version > seen.version and [i.instance_id for i in answer.instances] == [
        "catalog-1"]


async def test_an_idle_watch_answers_the_same_view_at_its_timeout(
        registry: RegistryService) -> None:
    seen = registry.snapshot()
    answer = await asyncio.wait_for(registry.watch(seen.epoch, seen.version, 0.05), 5)
    assert answer.version == seen.version


async def test_failing_checks_turn_an_instance_critical_and_wake_watchers(
        registry: RegistryService, prober: FakeProber) -> None:
    await registry.register("catalog-1", "catalog", A, {})
    await registry.register("catalog-2", "catalog", B, {})
    prober.failing.add(A)
    prober.refused.add(B)
    seen = registry.snapshot()
    waiting = asyncio.create_task(registry.watch(seen.epoch, seen.version, 30))
    await registry.check_all()  # a refused connection is critical at once
    assert registry.directory.get("catalog-2").status == CRITICAL
    assert registry.directory.get("catalog-1").status == PASSING
    assert (await asyncio.wait_for(waiting, 5)).version > seen.version
    await registry.check_all()  # the second failure in a row
    assert registry.directory.get("catalog-1").status == CRITICAL
    prober.failing.clear()
    await registry.check_all()
    assert registry.directory.get("catalog-1").status == PASSING
    assert registry.services() == [ServiceSummary("catalog", instances=2, passing=1)]


async def test_instances_without_a_heartbeat_are_evicted_and_forgotten(
        registry: RegistryService, uow: FakeUnitOfWork, clock: Clock) -> None:
    await registry.register("catalog-1", "catalog", A, {})
    await registry.register("catalog-2", "catalog", B, {})
    clock.now += 8
    await registry.heartbeat("catalog-2", "catalog")
    clock.now += 5
    await registry.evict_expired()
    assert [i.instance_id for i in registry.directory.all()] == ["catalog-2"]
    assert list(uow.rows) == ["catalog-2"]
