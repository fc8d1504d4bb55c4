"""Orders while NATS is unreachable: still ready (degraded), still taking orders into the outbox."""

from __future__ import annotations

import aiohttp
import pytest

from chassis.testing import TestIssuer, free_port, serve_app
from orders.app import create_app
from orders.settings import OrdersSettings

from ..conftest import LAMP, FakeCarts, Orders

pytestmark = pytest.mark.integration


async def test_without_a_broker_orders_is_ready_degraded_and_accepts_orders_as_pending(
        database_url: str, carts: FakeCarts, issuer: TestIssuer) -> None:
    nowhere = f"nats://127.0.0.1:{free_port()}"  # nothing listens there
    app = create_app(OrdersSettings(database_url=database_url, nats_url=nowhere, registry_url="",
                                    log_level="warning"), carts=carts)
    app.verifier = issuer.verifier()
    async with serve_app(app) as url, aiohttp.ClientSession() as http:
        orders = Orders(app, url, http, issuer)
        ready = await orders.call("GET", "/health/ready", user=None)
        assert ready.status == 200, ready.body
        assert ready.body["status"] == "degraded"
        assert ready.body["checks"]["database"] == "ok"
        assert ready.body["checks"]["broker"].startswith("failing")

        carts.carts["u1"] = (LAMP,)
        placed = await orders.checkout(key="outage-1", wait=0.2)
        assert placed.status == 201 and placed.body["status"] == "PENDING", placed.body
        state = await orders.call("GET", "/v1/admin/messaging", roles=("admin",))
        assert state.status == 200, state.body
        assert state.body["outbox"]["pending"] >= 1  # ReserveStock waits for the broker
