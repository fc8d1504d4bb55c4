"""The directory's rules (domain/directory.py), with the clock passed in."""

from __future__ import annotations

import pytest

from registry.domain.directory import (
    CRITICAL,
    PASSING,
    Directory,
    NotYourInstance,
    UnknownInstance,
)

pytestmark = pytest.mark.unit


def make() -> Directory:
    return Directory(ttl=10.0, failure_threshold=2)


def test_registering_adds_a_passing_instance_and_bumps_the_version() -> None:
    d = make()
    inst, changed = d.register("catalog-1", "catalog", "http://127.0.0.1:1", {}, now=100.0)
    assert changed and inst.status == PASSING and d.version == 1
    assert [i.instance_id for i in d.of_service("catalog")] == ["catalog-1"]


def test_reregistering_the_same_instance_unchanged_keeps_the_version() -> None:
    d = make()
    d.register("catalog-1", "catalog", "http://127.0.0.1:1", {}, now=100.0)
    _, changed = d.register("catalog-1", "catalog", "http://127.0.0.1:1", {}, now=105.0)
    assert not changed and d.version == 1
    assert d.get("catalog-1").registered_at == 100.0


def test_heartbeat_of_an_unknown_instance_raises() -> None:
    with pytest.raises(UnknownInstance):
        make().heartbeat("ghost-1", "ghost", now=1.0)


def test_only_the_service_that_registered_an_instance_may_replace_renew_or_remove_it() -> None:
    d = make()
    d.register("identity-1", "identity", "http://127.0.0.1:1", {}, now=0.0)
    with pytest.raises(NotYourInstance):  # a catalog taking over identity's entry
        d.register("identity-1", "catalog", "http://127.0.0.1:666", {}, now=1.0)
    with pytest.raises(NotYourInstance):
        d.heartbeat("identity-1", "catalog", now=1.0)
    with pytest.raises(NotYourInstance):
        d.deregister("identity-1", "catalog")
    assert d.get("identity-1").url == "http://127.0.0.1:1" and d.version == 1
    assert d.deregister("identity-1", "identity")


def test_instance_turns_critical_after_threshold_failures_and_recovers_after_one_success() -> None:
    d = make()
    d.register("c-1", "catalog", "http://127.0.0.1:1", {}, now=0.0)
    assert d.record_check("c-1", ok=False) is False
    assert d.get("c-1").status == PASSING
    assert d.record_check("c-1", ok=False) is True
    assert d.get("c-1").status == CRITICAL
    assert d.record_check("c-1", ok=True) is True
    assert d.get("c-1").status == PASSING


def test_a_refused_connection_is_critical_at_once() -> None:
    d = make()
    d.register("c-1", "catalog", "http://127.0.0.1:1", {}, now=0.0)
    assert d.record_check("c-1", ok=False, definitive=True) is True
    assert d.get("c-1").status == CRITICAL


def test_instances_without_heartbeat_past_ttl_are_evicted() -> None:
    d = make()
    d.register("a-1", "a", "http://127.0.0.1:1", {}, now=0.0)
    d.register("b-1", "b", "http://127.0.0.1:2", {}, now=0.0)
    d.heartbeat("b-1", "b", now=8.0)
    evicted = d.evict_expired(now=12.0)
    assert [i.instance_id for i in evicted] == ["a-1"]
    assert [i.instance_id for i in d.all()] == ["b-1"]


def test_an_evicted_instance_is_remembered_for_a_while_a_deregistered_one_not() -> None:
    """Prometheus discovers the instances through the registry: an evicted one (a crash, a
    hang) must stay a target for a while to show as down, not vanish from monitoring."""
    d = Directory(ttl=10.0, failure_threshold=2, keep_gone=300.0)
    for n in (1, 2, 3):
        d.register(f"a-{n}", "a", f"http://127.0.0.1:{n}", {}, now=0.0)
    d.deregister("a-3", "a")  # a planned stop
    d.heartbeat("a-2", "a", now=5.0)
    d.evict_expired(now=12.0)
    assert [i.instance_id for i in d.recently_gone(now=12.0)] == ["a-1"]
    assert [i.instance_id for i in d.recently_gone(now=312.0)] == ["a-1"]
    assert d.recently_gone(now=312.1) == []  # forgotten past keep_gone
    d.evict_expired(now=20.0)  # a-2 now
    d.register("a-2", "a", "http://127.0.0.1:22", {}, now=21.0)  # back: listed once again
    assert d.recently_gone(now=21.0) == [] and [i.url for i in d.all()] == ["http://127.0.0.1:22"]


def test_restored_instances_get_a_fresh_heartbeat_window() -> None:
    d = make()
    d.register("a-1", "a", "http://127.0.0.1:1", {}, now=0.0)
    saved = d.all()
    fresh = make()
    fresh.restore(saved, now=1000.0)
    assert fresh.evict_expired(now=1005.0) == []
    assert fresh.get("a-1").last_heartbeat == 1000.0


def test_a_new_process_registering_an_instance_again_counts_as_a_restart() -> None:
    d = make()
    d.register("orders-1", "orders", "http://127.0.0.1:1", {"started_at": "1.0"}, now=100.0)
    # the same process registering again (the registry forgot it) is no restart
    d.register("orders-1", "orders", "http://127.0.0.1:1", {"started_at": "1.0"}, now=101.0)
    assert d.get("orders-1").restarts == 0
    # a new process (the supervisor restarted it after a crash), maybe on another port
    _, changed = d.register("orders-1", "orders", "http://127.0.0.1:2", {"started_at": "2.0"},
                            now=102.0)
    d.register("orders-1", "orders", "http://127.0.0.1:2", {"started_at": "3.0"}, now=103.0)
    assert changed and d.get("orders-1").restarts == 2
    assert d.get("orders-1").registered_at == 100.0
    # an instance that says nothing of its start is never counted as restarted
    d.register("gateway-1", "gateway", "http://127.0.0.1:3", {}, now=100.0)
    d.register("gateway-1", "gateway", "http://127.0.0.1:4", {}, now=101.0)
    assert d.get("gateway-1").restarts == 0
    # a graceful stop deregisters: the next start is a first registration
    d.deregister("orders-1", "orders")
    d.register("orders-1", "orders", "http://127.0.0.1:2", {"started_at": "4.0"}, now=104.0)
    assert d.get("orders-1").restarts == 0
