"""Chaos Toolkit probes of a running Souk platform (``"module": "souk.chaos.probes"``).

They return plain JSON the journal keeps; the experiments judge them with tolerances (a range
on one key, or :mod:`souk.chaos.tolerances`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from chaoslib.exceptions import ActivityFailed

from chassis.invariants import Report, Snapshot, check
from souk import identity_client
from souk.chaos import background, poison
from souk.chaos.context import log, platform_home, running_state, work_dir
from souk.credentials import read_demo_users
from souk.home import Home
from souk.load import LoadError, run_load
from souk.probes import probe_all
from souk.state import read_json

__all__ = ["all_instances_ready", "background_loads", "checkout_window", "duplicate_charges",
           "load_result", "poison_dead_lettered", "verify_clean"]

Configuration = Mapping[str, Any] | None
FIRST = 20  # violations kept in the journal


def checkout_window(checkouts: int = 20, concurrency: int = 4, decline_rate: float = 0.0,
                    configuration: Configuration = None) -> dict[str, Any]:
    """Run a window of ``checkouts`` checkouts now (``souk load``'s workload) and return its
    figures: ``success_rate`` (the share that reached CONFIRMED or CANCELLED), the confirmed
    share, latency percentiles."""
    home = platform_home(configuration)
    state = running_state(home)
    identity = identity_client.identity_url(state)
    if state.gateway_url is None or identity is None:
        raise ActivityFailed("a checkout window needs a running gateway and identity")
    try:
        result = asyncio.run(run_load(state.gateway_url, identity, checkouts, concurrency,
                                      decline_rate))
    except LoadError as exc:
        raise ActivityFailed(f"the checkout window could not start: {exc}") from None
    figures = result.as_json()
    figures["success_rate"] = round((result.checkouts - result.failed) / result.checkouts, 4)
    log.info(f"checkout window: {result.checkouts} checkouts, {result.failed} failed, "
             f"p95 {figures['latency_ms']['p95']} ms")
    return figures


def load_result(name: str = "load", timeout: float = 900.0,
                configuration: Configuration = None) -> dict[str, Any]:
    """Wait for the background load ``name`` to finish; its figures."""
    return background.wait_load(platform_home(configuration), name, timeout)


def background_loads(timeout: float = 900.0, configuration: Configuration = None) -> dict[str, Any]:
    """Every background load of this run, awaited and added up: ``failed`` checkouts (none
    before the method has started one) and ``success_rate``."""
    home = platform_home(configuration)
    results = {name: background.wait_load(home, name, timeout)
               for name in background.every_load(home)}
    checkouts = sum(r["checkouts"] for r in results.values())
    failed = sum(r["failed"] for r in results.values())
    return {"loads": sorted(results), "checkouts": checkouts, "failed": failed,
            "confirmed": sum(r["confirmed"] for r in results.values()),
            "cancelled": sum(r["cancelled"] for r in results.values()),
            "retried": sum(r["retried"] for r in results.values()),
            "success_rate": round((checkouts - failed) / checkouts, 4) if checkouts else 1.0,
            "errors": [e for r in results.values() for e in r["errors"]][:5]}


async def _snapshot(home: Home, wait: float) -> Snapshot:
    import aiohttp

    from souk.admin import AdminClient, FetchError, take_snapshot, wait_until_settled

    state = running_state(home)
    users = read_demo_users(home)
    url = identity_client.identity_url(state)
    if users is None or url is None:
        raise ActivityFailed("verify needs the demo admin and a ready identity")

    async def log_in() -> str:
        return await asyncio.to_thread(identity_client.log_in, url, users.admin)

    async with aiohttp.ClientSession() as session:
        client = AdminClient(session, state, log_in)
        try:
            if wait > 0:
                await wait_until_settled(client, wait, lambda note: None)
            return await take_snapshot(client, state.nats_url)
        except FetchError as exc:
            raise ActivityFailed(f"could not read the platform: {exc}") from None


def _report(configuration: Configuration, wait: float) -> tuple[Report, Snapshot]:
    snapshot = asyncio.run(_snapshot(platform_home(configuration), wait))
    return check(snapshot), snapshot


def verify_clean(wait: float = 120.0, configuration: Configuration = None) -> dict[str, Any]:
    """``souk verify --wait WAIT``: ``violations`` (0 when every invariant holds), the counts,
    and the first violations."""
    report, _ = _report(configuration, wait)
    log.info(f"souk verify: {len(report.violations)} violations, counts {report.counts}")
    return {"ok": report.ok, "violations": len(report.violations),
            "first_violations": [v.as_json() for v in report.violations[:FIRST]],
            "counts": report.counts,
            "skipped": [c.name for c in report.checks if c.status == "skip"]}


def duplicate_charges(wait: float = 60.0, configuration: Configuration = None) -> int:
    """How many orders were charged more than once: more than one capture, or a net charge
    above the order's total (or any net charge, for a cancelled order)."""
    _, snapshot = _report(configuration, wait)
    totals = {str(o["id"]): (str(o.get("status")), int(o.get("total_minor", 0)))
              for o in snapshot.orders or []}
    by_order: dict[str, list[Mapping[str, Any]]] = {}
    for payment in snapshot.payments or []:
        by_order.setdefault(str(payment.get("order_id")), []).append(payment)
    twice = []
    for order_id, payments in by_order.items():
        status, total = totals.get(order_id, ("UNKNOWN", 0))
        net = sum(int(p.get("net_minor", 0)) for p in payments)
        captures = sum(int(p.get("captures", 0)) for p in payments)
        if captures > 1 or net > total or (status == "CANCELLED" and net):
            twice.append(order_id)
    if twice:
        log.warning(f"charged more than once: {', '.join(twice[:10])}")
    return len(twice)


def all_instances_ready(within: float = 60.0, configuration: Configuration = None) -> bool:
    """Whether every supervised process answers its readiness probe (waiting up to
    ``within`` seconds, for instances restarting after a fault)."""
    home = platform_home(configuration)
    deadline = time.monotonic() + within
    while True:
        state = running_state(home)
        procs = state.processes
        live = probe_all([p.ready_url for p in procs], 1.0)
        missing = [p.instance for p, ok in zip(procs, live, strict=True) if not ok]
        if procs and not missing:
            return True
        if time.monotonic() > deadline:
            log.warning(f"not ready: {', '.join(missing) or 'no process'}")
            return False
        time.sleep(0.5)


def poison_dead_lettered(timeout: float = 60.0,
                         configuration: Configuration = None) -> dict[str, Any]:
    """Where the poison messages of this run ended: ``missing`` (dead letters a consumer should
    have written and has not, after waiting up to ``timeout`` s) and ``unexpected`` ones (the
    unknown type dead-lettered, or by a consumer that does not take it); zeros when none was
    sent."""
    home = platform_home(configuration)
    sent = read_json(work_dir(home) / "poison.json")
    if not isinstance(sent, list) or not sent:
        return {"sent": 0, "missing": 0, "unexpected": 0}
    nats_url = running_state(home).nats_url
    deadline = time.monotonic() + timeout
    while True:
        found = asyncio.run(poison.where_they_ended(nats_url, sent))
        if (found["missing"] == 0 and found["unexpected"] == 0) or time.monotonic() > deadline:
            return found
        time.sleep(1.0)
