import asyncio

import pytest

from chassis.health import HealthChecks

pytestmark = pytest.mark.unit


async def test_ready_only_when_every_check_passes() -> None:
    checks = HealthChecks(timeout=0.05)

    async def ok() -> None:
        return None

    async def broken() -> None:
        raise ConnectionError("refused")

    async def hung() -> None:
        await asyncio.sleep(10)

    checks.add("db", ok)
    assert await checks.run() == (True, {"db": "ok"})
    checks.add("broker", broken)
    checks.add("cache", hung)
    ready, report = await checks.run()
    assert not ready
    assert report == {"db": "ok", "broker": "failing: ConnectionError: refused",
                      "cache": "failing: TimeoutError"}
