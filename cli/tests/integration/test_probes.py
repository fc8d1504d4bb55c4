"""The readiness probes of ``souk status``, against a real HTTP server: ready, degraded (an
optional check failing, the broker away), not ready, not answering."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from chassis.testing import free_port
from souk.probes import Prober

pytestmark = pytest.mark.integration


async def test_a_ready_instance_is_said_degraded_with_the_checks_failing() -> None:
    answers = {
        "/ready": web.json_response({"status": "ready", "checks": {"database": "ok"}}),
        "/degraded": web.json_response({"status": "degraded", "checks": {
            "database": "ok", "broker": "failing: not connected"}}),
        "/not-ready": web.json_response({"status": 503}, status=503),
        "/plain": web.Response(text="ok"),  # nats-server's /healthz says less
    }

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/slow":
            await asyncio.sleep(1)
        return answers[request.path]

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    prober = Prober()
    base = f"http://127.0.0.1:{port}"
    try:
        assert await prober.readiness(base + "/ready", 2) == (True, ())
        assert await prober.readiness(base + "/degraded", 2) == (True, ("broker",))
        assert await prober.readiness(base + "/not-ready", 2) == (False, ())
        assert await prober.readiness(base + "/plain", 2) == (True, ())
        assert await prober.readiness(base + "/slow", 0.2) == (False, ())
    finally:
        await prober.close()
        await runner.cleanup()
