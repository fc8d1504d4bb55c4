"""The whole checkout platform under `souk up`, shared by the checkout system tests."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chassis.testing import free_port

from .conftest import ROOT, SOUK, Platform, launch

CHECKOUT_TOPOLOGY = """
[platform]
host = "127.0.0.1"
gateway_port = {gateway_port}

[services.registry]
instances = 1
database = true

[services.identity]
instances = 1
database = true

[services.catalog]
instances = 1
database = true

[services.cart]
instances = 1
database = true

[services.inventory]
instances = 1
database = true
env = {{ INVENTORY_SEED_QUANTITY = "100000" }}

[services.orders]
instances = 1
database = true
# a short authorization deadline so the timeout scenario finishes quickly; the processor's slow
# answer (PAYMENTS_TIMEOUT_DELAY) lands after it
env = {{ ORDERS_AUTHORIZE_TIMEOUT = "2" }}

[services.payments]
instances = 1
database = true
env = {{ PAYMENTS_TIMEOUT_DELAY = "4" }}

[services.notifications]
instances = 1
database = true

[services.analytics]
instances = 1
database = true

[services.gateway]
instances = 1
database = false
env = {{ GATEWAY_RATE_LIMIT = "100000/minute" }}
"""

# payments reaches the broker and its database through fault proxies (`souk fault`)
FAULTS_TOPOLOGY = CHECKOUT_TOPOLOGY.replace(
    "[platform]\n", '[platform]\nfault_proxies = ["payments"]\n', 1)

PROBLEM = "application/problem+json"


@dataclass
class Shopper:
    token: str
    user_id: str


@dataclass
class Checkout:
    platform: Platform

    @property
    def gateway(self) -> str:
        return self.platform.gateway

    def url_of(self, service: str) -> str:
        return self.platform.url_of(service)

    def pid_of(self, instance: str) -> int:
        return int(self.platform.process(instance)["pid"])

    def users(self) -> dict[str, Any]:
        return dict(json.loads((self.platform.home / "secrets" / "demo-users.json").read_text()))

    async def token(self, s: aiohttp.ClientSession, who: str = "customer") -> str:
        user = self.users()[who]
        async with s.post(f"{self.gateway}/api/v1/identity/login",
                          json={"email": user["email"], "password": user["password"]}) as r:
            assert r.status == 200, await r.text()
            return str((await r.json())["access_token"])

    async def shopper(self, s: aiohttp.ClientSession) -> Shopper:
        """A new customer, signed up directly at identity (the edge limits sign-ups)."""
        identity = self.url_of("identity")
        email = f"shopper-{time.time_ns()}@souk.local"
        password = f"correct horse battery {time.time_ns() % 10**6}"
        async with s.post(f"{identity}/v1/signup", json={"email": email, "password": password}) as r:
            assert r.status == 201, await r.text()
            user_id = (await r.json())["id"]
        async with s.post(f"{identity}/v1/login", json={"email": email, "password": password}) as r:
            token = (await r.json())["access_token"]
        return Shopper(token=token, user_id=user_id)

    async def call(self, s: aiohttp.ClientSession, method: str, path: str, token: str,
                   body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        hdrs = {"Authorization": f"Bearer {token}", **(headers or {})}
        async with s.request(method, f"{self.gateway}{path}", json=body, headers=hdrs) as r:
            return r.status, (await r.json(content_type=None) if r.status != 204 else None)

    async def fill(self, s: aiohttp.ClientSession, shopper: Shopper, sku: str, qty: int) -> None:
        status, body = await self.call(s, "PUT", f"/api/v1/cart/items/{sku}", shopper.token,
                                       {"quantity": qty})
        assert status == 200, body

    async def checkout(self, s: aiohttp.ClientSession, shopper: Shopper, key: str,
                       card: str = "tok_visa", wait: float = 20) -> tuple[int, Any]:
        return await self.call(s, "POST", "/api/v1/orders", shopper.token, {"card_token": card},
                               {"Idempotency-Key": key, "Prefer": f"wait={wait:g}"})

    async def order(self, s: aiohttp.ClientSession, shopper: Shopper, order_id: str) -> Any:
        status, body = await self.call(s, "GET", f"/api/v1/orders/{order_id}", shopper.token)
        assert status == 200, body
        return body

    def souk(self, *args: str, timeout: float = 180,
             check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.platform.souk(*args, timeout=timeout, check=check)

    def verify(self, wait: float = 90) -> dict[str, Any]:
        """`souk verify --json`, asserted clean."""
        proc = self.souk("verify", "--json", "--wait", str(wait), check=False, timeout=wait + 120)
        report = dict(json.loads(proc.stdout))
        assert proc.returncode == 0 and report["ok"], json.dumps(report["violations"][:20], indent=1)
        return report

    def load(self, *args: str, timeout: float = 300) -> dict[str, Any]:
        proc = self.souk("load", "--json", *args, timeout=timeout)
        return dict(json.loads(proc.stdout))

    def load_in_background(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([*SOUK, "load", "--json", *args, "--home", str(self.platform.home)],
                                cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "NO_COLOR": "1"})

    def arm(self, service: str, point: str) -> Path:
        folder = self.platform.home / "faults" / service
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / point
        marker.touch()
        return marker


@contextlib.contextmanager
def checkout_shop(tmp_path_factory: pytest.TempPathFactory, name: str,
                  topology: str = CHECKOUT_TOPOLOGY, engine: str = "sqlite") -> Iterator[Checkout]:
    """A platform of ``topology`` (its gateway port filled in) on ``engine`` in a fresh home
    named ``name``, for a test module's shop fixture; stopped (and purged) afterwards."""
    port = free_port()
    with launch(tmp_path_factory.mktemp(f"{name}-{engine}"), topology.format(gateway_port=port),
                port, engine) as plat:
        yield Checkout(plat)


def python() -> str:
    return sys.executable


# The modules that share a platform, one per group and engine, in this order (in a group, the
# ones that count exactly or only read first, the ones that kill processes last):
# tests/system/conftest.py runs each group's tests together, engine by engine, and stops the
# platform after the last of them. Each module leaves it as it found it: every process running
# and released, every order terminal (`souk verify`), live settings rolled back.
SHARED = {"test_metrics": "checkout", "test_prometheus": "checkout", "test_checkout": "checkout",
          "test_live_config": "checkout", "test_availability": "checkout",
          "test_chaos": "checkout",
          "test_web_session": "web", "test_web_cors": "web", "test_web_accessibility": "web",
          "test_web_storefront": "web",
          "test_faults": "faults", "test_database_faults": "faults",
          # last: its last test stops the platform
          "test_identity_edge": "foundation", "test_platform": "foundation"}
_shared: dict[tuple[str, str], tuple[contextlib.ExitStack, Checkout]] = {}


def shared_shop(tmp_path_factory: pytest.TempPathFactory, engine: str, group: str = "checkout",
                topology: str = CHECKOUT_TOPOLOGY) -> Checkout:
    """The platform of ``topology`` on ``engine`` shared by the modules of ``group`` in
    ``SHARED``, started by the first of them."""
    if (group, engine) not in _shared:
        stack = contextlib.ExitStack()
        try:
            shop = stack.enter_context(
                checkout_shop(tmp_path_factory, f"souk-{group}", topology, engine))
        except BaseException:
            stack.close()
            raise
        _shared[group, engine] = (stack, shop)
    return _shared[group, engine][1]


def close_shared(group: str | None = None, engine: str | None = None) -> None:
    """Stop (and purge) the shared platform of ``group`` on ``engine``, or every one."""
    for key in list(_shared):
        if group is None or key == (group, engine):
            stack, _ = _shared.pop(key)
            stack.close()
