"""A rolling deploy that adds a message handler, on the real platform, with checkouts in flight.

Version 1 of notifications has no `OrderCancelled` handler; version 2 adds it. Which version an
instance runs is read from a file when it starts (as a pod runs the image it was created with),
so the test deploys by writing that file and restarting or adding instances. Along the way an
old instance restarts after a new one (its filter must not drop the new type), and for a while
only the old version runs (it must leave the new type for the new version, never ack it).
`souk verify` then finds exactly one notification for every terminal order: none lost.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator

import aiohttp
import pytest

from chassis.testing import free_port

from .checkout_platform import CHECKOUT_TOPOLOGY, Checkout
from .conftest import launch

pytestmark = pytest.mark.system

MODULE = "souk_rolling_notifications"
# notifications at the version its instance's file names (v1 when there is none)
VERSIONED = '''
import os
from pathlib import Path

from chassis.messaging import MessageHandlers
from contracts.orders import OrderConfirmed
from notifications import __main__ as main
from notifications.entrypoints import messages

version = Path(__file__).with_name(os.environ["NOTIFICATIONS_INSTANCE_ID"] + ".version")
if not version.exists() or version.read_text().strip() == "v1":
    v1 = MessageHandlers()  # before cancellations were notified
    v1.on(OrderConfirmed)(messages.on_order_confirmed)
    messages.handlers = v1
main.main()
'''
CANCELLED = "orders.OrderCancelled.v1"
LOAD = 300  # checkouts per background load, 40% declined (cancelled)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[Checkout]:
    home = tmp_path_factory.mktemp("souk-rolling")
    code = home / "code"
    code.mkdir()
    (code / f"{MODULE}.py").write_text(VERSIONED)
    port = free_port()
    topology = CHECKOUT_TOPOLOGY.format(gateway_port=port).replace(
        "[services.notifications]\ninstances = 1\ndatabase = true\n",
        f'[services.notifications]\ninstances = 1\ndatabase = true\nmodule = "{MODULE}"\n'
        f'env = {{ PYTHONPATH = "{code}" }}\n')
    assert MODULE in topology
    with launch(home, topology, port, engine) as plat:
        yield Checkout(plat)


def deploy(shop: Checkout, instance: str, version: str) -> None:
    """What ``instance`` runs the next time it starts."""
    (shop.platform.home / "code" / f"{instance}.version").write_text(version)


def restart(shop: Checkout, instance: str) -> None:
    """SIGTERM ``instance``; the supervisor starts it again; return once the new one is ready."""
    pid = shop.pid_of(instance)
    os.kill(pid, signal.SIGTERM)
    shop.platform.wait_ready(instance, other_than_pid=pid, timeout=90)


async def deferred_cancellations(s: aiohttp.ClientSession, shop: Checkout, instance: str) -> float:
    """How many OrderCancelled deliveries ``instance`` nak'ed for want of a handler."""
    async with s.get(f"{shop.platform.process(instance)['url']}/metrics") as r:
        text = await r.text()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("souk_messages_consumed_total{")
               and f'type="{CANCELLED}"' in line and 'outcome="deferred"' in line)


def checkouts(shop: Checkout) -> subprocess.Popen[str]:
    return shop.load_in_background("--checkouts", str(LOAD), "--concurrency", "4",
                                   "--decline-rate", "0.4")


async def declined_checkout(s: aiohttp.ClientSession, shop: Checkout) -> str:
    async with s.get(f"{shop.gateway}/api/v1/catalog/products?limit=1") as r:
        sku = str((await r.json())["items"][0]["sku"])
    shopper = await shop.shopper(s)
    await shop.fill(s, shopper, sku, 1)
    status, order = await shop.checkout(s, shopper, f"rolling-{uuid.uuid4()}", card="tok_decline")
    assert status == 201 and order["status"] == "CANCELLED", order
    return str(order["id"])


async def test_a_rolling_deploy_that_adds_a_handler_loses_no_message(shop: Checkout) -> None:
    # v2 joins beside v1 (a surge instance) before anything publishes an OrderCancelled
    deploy(shop, "notifications-2", "v2")
    shop.souk("scale", "notifications=2")
    loads: list[subprocess.Popen[str]] = []
    try:
        loads.append(checkouts(shop))  # in flight while instances come and go
        restart(shop, "notifications-1")  # an old instance restarts after the new one started
        shop.souk("scale", "notifications=1")  # the rollout pauses: only v1 runs
        async with aiohttp.ClientSession() as s:
            await declined_checkout(s, shop)  # an OrderCancelled that only v1 can receive
            deadline = time.monotonic() + 30
            while (left := await deferred_cancellations(s, shop, "notifications-1")) < 1 \
                    and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
        loads.append(checkouts(shop))
        deploy(shop, "notifications-1", "v2")  # the rollout completes
        shop.souk("scale", "notifications=2")
        restart(shop, "notifications-1")
        for load in loads:
            out, err = load.communicate(timeout=600)
            assert load.returncode == 0, err[-3000:]
            assert json.loads(out)["checkouts"] == LOAD, out
    finally:
        for load in loads:
            if load.poll() is None:
                load.kill()
                load.wait()
    report = shop.verify(wait=120)  # exactly one notification of its kind per terminal order
    assert report["counts"]["cancelled"] >= 2, report["counts"]
    assert report["counts"]["notifications"] == report["counts"]["orders"], report["counts"]
    assert left >= 1, "v1 received no OrderCancelled while it ran alone: the scenario did not happen"

