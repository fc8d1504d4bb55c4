import asyncio

import pytest

from chassis.health import HealthChecks

pytestmark = pytest.mark.unit


async def ok() -> None:
    return None


async def broken() -> None:
    raise ConnectionError("refused")


async def test_ready_only_when_every_required_check_passes() -> None:
    checks = HealthChecks(timeout=0.05)

    async def hung() -> None:
        await asyncio.sleep(10)

    checks.add("db", ok)
    assert await checks.run() == ("ready", {"db": "ok"})
    checks.add("broker", broken)
    checks.add("cache", hung)
    status, report = await checks.run()
    assert status == "not-ready"
    assert report == {"db": "ok", "broker": "failing: ConnectionError: refused",
                      "cache": "failing: TimeoutError"}


async def test_a_failing_optional_check_degrades_but_stays_ready() -> None:
    checks = HealthChecks()
    checks.add("database", ok)
    checks.add("broker", broken, required=False)
    assert await checks.run() == ("degraded", {"database": "ok",
                                               "broker": "failing: ConnectionError: refused"})
    checks.add("database", broken)
    assert (await checks.run())[0] == "not-ready"
