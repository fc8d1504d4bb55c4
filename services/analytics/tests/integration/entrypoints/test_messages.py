"""Orders' events over a real nats-server: projected once whatever the duplicates and the order,
and a replay of the stream rebuilds the identical summary."""

from __future__ import annotations

import asyncio

import pytest

from chassis.testing.service import eventually

from ..conftest import Analytics, cancelled, confirmed, placed

pytestmark = pytest.mark.integration

EXPECTED = {"orders_by_status": {"placed": 1, "confirmed": 2, "cancelled": 1},
            "revenue": {"EUR": 4500, "USD": 4500},
            "top_products": [{"sku": "KIT-0001", "units": 4, "revenue_minor": 4000},
                             {"sku": "BOK-0002", "units": 2, "revenue_minor": 5000}],
            "orders": 4}


async def publish_history(analytics: Analytics) -> None:
    await analytics.publish(
        (placed("o-1"), "o-1.placed", None),
        (confirmed("o-1"), "o-1.confirmed", None),
        # the same message under another Nats-Msg-Id: stored twice, applied once
        (confirmed("o-1"), "o-1.confirmed", "o-1.confirmed#again"),
        # out of order: the confirmation before the placement
        (confirmed("o-2", "USD"), "o-2.confirmed", None),
        (placed("o-2", "USD"), "o-2.placed", None),
        (placed("o-3"), "o-3.placed", None),
        (cancelled("o-3"), "o-3.cancelled", None),
        (placed("o-4"), "o-4.placed", None),  # the last one: still only placed
    )

    async def all_applied() -> bool:
        return bool((await analytics.summary())["orders"] == 4)

    await eventually(all_applied, timeout=15)


async def test_projects_each_event_once_and_replay_gives_the_same_summary(
        analytics: Analytics) -> None:
    await publish_history(analytics)
    assert await analytics.summary() == EXPECTED
    replay = await analytics.call("POST", "/v1/admin/replay", roles=("admin",))
    assert replay.status == 200
    assert replay.body == {"replayed": 8, "summary": EXPECTED}
    assert await analytics.summary() == EXPECTED


async def test_replays_asked_for_at_once_run_one_after_the_other(analytics: Analytics) -> None:
    await publish_history(analytics)
    replies = await asyncio.gather(*(analytics.call("POST", "/v1/admin/replay", roles=("admin",))
                                     for _ in range(3)))
    assert [r.body for r in replies] == [{"replayed": 8, "summary": EXPECTED}] * 3
    assert await analytics.summary() == EXPECTED
