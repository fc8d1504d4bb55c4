"""A replicated broker: the checkout platform on a 3-node NATS JetStream cluster
(``[platform] nats_nodes = 3``). Every stream, key-value bucket and durable consumer keeps three
replicas. The node that leads the ``SOUK`` stream is SIGKILLed while checkouts run, then a
follower (with ``souk fault kill``), and nothing is lost: every checkout ends, ``souk verify`` is
clean, every message a probe published through the failover was delivered, and every service
connected to the dead node moved to another.

The failover's cost is measured, never asserted (a loaded 2-core machine stretches it): how long
the probe's publishes and deliveries waited, the longest pause between finished checkouts, the
slowest checkout and the services' reconnections and refused publishes, printed as one JSON
object (``pytest -s`` shows it; docs/decisions.md 64 quotes a run).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js import api

from souk.load import LoadProgress, run_load
from souk.state import signal_group

from .checkout_platform import CHECKOUT_TOPOLOGY, Checkout, checkout_shop
from .conftest import only_on, pid_alive

pytestmark = pytest.mark.system

CLUSTER_TOPOLOGY = CHECKOUT_TOPOLOGY.replace("[platform]\n", "[platform]\nnats_nodes = 3\n", 1)
NODES = ("nats-1", "nats-2", "nats-3")
SERVERS = {"souk-1", "souk-2", "souk-3"}  # the nodes' server names (-n)
REPLICATED = ("SOUK", "SOUK_DLQ", "KV_SOUK_CONFIG", "KV_SOUK_CONFIG_SERVICES", "KV_SOUK_LOCKS")
CONSUMERS = ("orders", "inventory", "payments", "notifications", "analytics", "cart")
PROBE_SUBJECT = "souk.probe.failover"  # in SOUK, a subject no service consumes
PROBE_EVERY = 0.02
# checkouts before the kill, and at least as many finished after it as the issue asks to run
# through it; the load then starts no more (souk.load's `enough`, docs/decisions.md 48)
KILL_AFTER, AFTER_KILL, CAP = 150, 300, 20_000


engine = only_on("sqlite")  # the broker's replication; see tests/system/conftest.py


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[Checkout]:
    with checkout_shop(tmp_path_factory, "souk-nats-cluster", CLUSTER_TOPOLOGY, engine) as shop:
        yield shop


def state_of(shop: Checkout) -> dict[str, Any]:
    return dict(json.loads((shop.platform.home / "run" / "state.json").read_text()))


async def connect(shop: Checkout) -> Any:
    return await nats.connect(servers=state_of(shop)["nats_url"].split(","), name="test",
                              max_reconnect_attempts=-1, reconnect_time_wait=0.1)


def replicated(cluster: Any) -> set[str]:
    """The servers of a stream's or consumer's group that are current: the leader and the
    replicas that are caught up."""
    if cluster is None or not cluster.leader:
        return set()
    return {cluster.leader} | {r.name for r in cluster.replicas or [] if r.current}


async def until_replicated(js: Any, timeout: float) -> dict[str, Any]:
    """Wait until every stream and consumer has three current replicas; their infos."""
    deadline = time.monotonic() + timeout
    while True:
        infos: dict[str, Any] = {}
        with contextlib.suppress(Exception):  # a stream not made yet, a group electing
            for name in REPLICATED:
                infos[name] = await js.stream_info(name)
            for durable in CONSUMERS:
                infos[f"SOUK > {durable}"] = await js.consumer_info("SOUK", durable)
        if len(infos) == len(REPLICATED) + len(CONSUMERS) and all(
                replicated(info.cluster) == SERVERS for info in infos.values()):
            return infos
        if time.monotonic() >= deadline:
            return infos
        await asyncio.sleep(0.25)


async def test_three_nodes_run_and_every_stream_bucket_and_consumer_keeps_three_replicas(
        shop: Checkout) -> None:
    nodes = [p for p in shop.platform.status() if p["service"] == "nats"]
    assert [p["instance"] for p in nodes] == list(NODES)
    assert all(p["ready"] for p in nodes) and len({p["pid"] for p in nodes}) == 3
    state = state_of(shop)
    assert state["nats_url"] == ",".join(p["url"] for p in nodes)
    assert state["stream_replicas"] == 3

    nc = await connect(shop)
    try:
        infos = await until_replicated(nc.jetstream(), timeout=60)
    finally:
        await nc.close()
    assert sorted(infos) == sorted([*REPLICATED, *(f"SOUK > {d}" for d in CONSUMERS)])
    for name in REPLICATED:
        assert infos[name].config.num_replicas == 3, name
    for name, info in infos.items():
        assert replicated(info.cluster) == SERVERS, (name, info.cluster)


@dataclass
class Probe:
    """A publisher and a consumer of ``PROBE_SUBJECT`` beside the checkouts: when each probe
    was first tried, acknowledged by the stream, and delivered."""

    sent: dict[int, float] = field(default_factory=dict)
    acked: dict[int, float] = field(default_factory=dict)
    received: dict[int, float] = field(default_factory=dict)
    publish_errors: int = 0
    fetch_errors: int = 0
    # set once the publisher has returned: a probe it was sending when ``stop`` came may still
    # be acknowledged after that, and the consumer must wait for it too
    published: asyncio.Event = field(default_factory=asyncio.Event)

    async def publish(self, js: Any, stop: asyncio.Event, run: str) -> None:
        try:
            await self._publish(js, stop, run)
        finally:
            self.published.set()

    async def _publish(self, js: Any, stop: asyncio.Event, run: str) -> None:
        number = 0
        deadline = time.monotonic() + 600
        while not stop.is_set() and time.monotonic() < deadline:
            number += 1
            self.sent[number] = time.monotonic()
            while time.monotonic() < deadline:  # the same probe until stored (Nats-Msg-Id)
                try:
                    await js.publish(PROBE_SUBJECT, str(number).encode(), timeout=1.0,
                                     headers={"Nats-Msg-Id": f"{run}-{number}"})
                except Exception:  # no leader yet, no responders, a timeout, reconnecting
                    self.publish_errors += 1
                    await asyncio.sleep(0.05)
                else:
                    self.acked[number] = time.monotonic()
                    break
            await asyncio.sleep(PROBE_EVERY)

    async def consume(self, js: Any) -> None:
        sub = await js.pull_subscribe(PROBE_SUBJECT, durable="failover-probe", stream="SOUK",
                                      config=api.ConsumerConfig(ack_wait=5.0))
        deadline = time.monotonic() + 660
        while time.monotonic() < deadline and not (
                self.published.is_set() and set(self.acked) <= set(self.received)):
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except nats.errors.TimeoutError:  # nothing new within the timeout
                continue
            except Exception:  # no responders: the consumer's leader is being elected
                self.fetch_errors += 1
                await asyncio.sleep(0.05)
                continue
            now = time.monotonic()
            for msg in msgs:
                self.received.setdefault(int(msg.data), now)
                await msg.ack()


def longest_gap(times: list[float], since: float) -> float:
    """The longest pause from ``since`` on: from ``since`` to the first of ``times`` after it,
    or between two consecutive ones."""
    after = [since, *sorted(t for t in times if t >= since)]
    return max((b - a for a, b in itertools.pairwise(after)), default=0.0)


def service_events(logs: Path, since: datetime) -> dict[str, dict[str, Any]]:
    """Per service instance, after ``since``: when it lost and regained its broker connection
    (seconds after ``since``), and how many publishes its relay had refused or unanswered."""
    events: dict[str, dict[str, Any]] = {}
    for log in logs.glob("*.log"):
        if log.name.startswith(("nats-", "supervisor")):
            continue
        for line in log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
                ts = datetime.fromisoformat(record["ts"].replace("Z", "+00:00"))
            except (ValueError, KeyError, TypeError):
                continue
            if ts < since:
                continue
            at = round((ts - since).total_seconds(), 3)
            mine = events.setdefault(record.get("instance", log.stem), {})
            event = record.get("event")
            if event == "nats disconnected":
                mine.setdefault("disconnected_s", at)
            elif event == "nats reconnected":
                mine.setdefault("reconnected_s", at)
            elif event == "relay publish failed; retrying":
                mine["relay_failures"] = mine.get("relay_failures", 0) + 1
                mine["last_relay_failure_s"] = at
    return {name: found for name, found in sorted(events.items()) if found}


async def kill_during_checkouts(shop: Checkout, pick: Callable[[str], str], *, with_cli: bool,
                                sig: signal.Signals = signal.SIGKILL) -> dict[str, Any]:
    """Run checkouts and the probe; once ``KILL_AFTER`` checkouts are done, SIGKILL the node
    ``pick(SOUK's leader)`` names (with ``souk fault kill``, or at once with ``sig``: SIGTERM
    measures a graceful stop, README "A replicated broker"); go on until
    ``AFTER_KILL`` more have finished; assert that nothing was lost, and return what the failover
    cost."""
    nc = await connect(shop)
    js = nc.jetstream(timeout=5.0)
    leader = (await js.stream_info("SOUK")).cluster.leader
    victim = pick(f"nats-{leader.removeprefix('souk-')}")
    assert victim in NODES, (leader, victim)
    victim_pid = shop.pid_of(victim)

    probe, stop = Probe(), asyncio.Event()
    probes = [asyncio.create_task(probe.consume(js)),
              asyncio.create_task(probe.publish(js, stop, f"probe-{time.time_ns()}"))]
    finished: list[float] = []
    half_way = asyncio.Event()
    done_at_kill: int | None = None

    def progress(state: LoadProgress) -> None:
        finished.append(time.monotonic())
        if state.done >= KILL_AFTER:
            half_way.set()

    def enough() -> bool:
        return done_at_kill is not None and len(finished) >= done_at_kill + AFTER_KILL

    load = asyncio.create_task(run_load(shop.gateway, shop.url_of("identity"), CAP, 16,
                                        decline_rate=0.2, progress=progress, enough=enough))
    await asyncio.wait_for(half_way.wait(), timeout=300)
    killed_wall = datetime.now().astimezone()
    if with_cli:  # it starts in a second or more: the kill is the moment the pid is gone
        kill = asyncio.create_task(asyncio.to_thread(shop.souk, "fault", "kill", victim))
        for _ in range(6000):
            if kill.done() or not pid_alive(victim_pid):
                break
            await asyncio.sleep(0.01)
        assert f"killed {victim}" in (await kill).stdout
    else:  # what `souk fault kill` does, at the very moment chosen
        signal_group(victim_pid, sig)
    killed_at, done_at_kill = time.monotonic(), len(finished)

    result = await asyncio.wait_for(load, timeout=600)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*probes), timeout=120)
    new_leader = (await js.stream_info("SOUK")).cluster.leader
    restarted, back_after = await asyncio.to_thread(shop.platform.wait_ready, victim,
                                                    other_than_pid=victim_pid, timeout=120)
    infos = await until_replicated(js, timeout=120)  # the restarted node caught up
    await nc.close()
    services = service_events(shop.platform.home / "logs", killed_wall)

    cost = {
        "killed": victim, "stream_leader_before": leader, "stream_leader_after": new_leader,
        "checkouts": result.checkouts, "checkouts_done_at_kill": done_at_kill,
        "victim_ready_again_s": round(back_after, 2),
        "probe_publish_wait_max_s": round(max((probe.acked[n] - probe.sent[n]
                                               for n in probe.acked), default=0.0), 3),
        "probe_publish_wait_max_s_before_kill": round(max(
            (probe.acked[n] - probe.sent[n] for n in probe.acked if probe.sent[n] < killed_at),
            default=0.0), 3),
        "probe_delivery_delay_max_s": round(max(
            (probe.received[n] - probe.sent[n] for n in probe.acked if n in probe.received),
            default=0.0), 3),
        "probe_delivery_gap_after_kill_s": round(longest_gap(list(probe.received.values()),
                                                             killed_at), 3),
        "probe_publish_errors": probe.publish_errors, "probe_fetch_errors": probe.fetch_errors,
        "checkout_gap_before_kill_s": round(longest_gap(
            [t for t in finished if t < killed_at], finished[0]), 3),
        "checkout_gap_after_kill_s": round(longest_gap(finished, killed_at), 3),
        "checkout_latency_ms": {"p50": round(result.latency(50)), "p99": round(result.latency(99)),
                                "max": round(result.latencies_ms[-1])},
        "checkouts_per_second": round(result.per_second, 1),
        "services": services,
    }
    print(f"\nthe cost of {'SIGKILL' if with_cli else sig.name} to {victim} of a 3-node NATS "
          "cluster:", json.dumps(cost, indent=1))

    # the kill landed while checkouts ran, and every one of them ended
    assert done_at_kill >= KILL_AFTER and result.checkouts >= done_at_kill + AFTER_KILL
    assert result.failed == 0, result.errors
    assert result.confirmed + result.cancelled == result.checkouts and result.confirmed > 0
    # nothing the stream acknowledged was lost: every probe published was delivered
    assert set(probe.acked) == set(probe.sent)
    assert set(probe.received) >= set(probe.acked)
    assert min(probe.sent.values()) < killed_at < max(probe.acked.values())
    # whoever was connected to the dead node moved to another
    assert all("reconnected_s" in found for found in services.values()
               if "disconnected_s" in found), services
    assert restarted["pid"] != victim_pid
    assert all(replicated(info.cluster) == SERVERS for info in infos.values()), infos
    return cost


@pytest.mark.timeout(900)
async def test_the_stream_leader_sigkilled_during_checkouts_loses_nothing(
        shop: Checkout) -> None:
    cost = await kill_during_checkouts(shop, lambda leader: leader, with_cli=False)

    report = shop.verify(wait=120)
    assert report["counts"]["orders"] >= cost["checkouts"]
    assert report["counts"]["not_terminal"] == 0


@pytest.mark.timeout(900)
async def test_a_follower_killed_with_souk_fault_kill_during_checkouts_loses_nothing(
        shop: Checkout) -> None:
    def a_follower(leader: str) -> str:
        return next(node for node in NODES if node != leader)

    cost = await kill_during_checkouts(shop, a_follower, with_cli=True)

    report = shop.verify(wait=120)
    assert report["counts"]["orders"] >= cost["checkouts"]
    assert report["counts"]["not_terminal"] == 0
