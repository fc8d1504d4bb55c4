"""Stopping a component's own tasks."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from chassis.tasks import cancel_and_wait

pytestmark = pytest.mark.unit


async def test_cancels_every_task_and_returns_once_each_has_ended() -> None:
    cleaned: list[str] = []

    async def loop(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append(name)

    tasks = [asyncio.create_task(loop(name)) for name in ("watch", "heartbeat")]
    await asyncio.sleep(0)  # both started
    await cancel_and_wait(*tasks, None)
    assert sorted(cleaned) == ["heartbeat", "watch"]
    assert all(task.cancelled() for task in tasks)


async def test_nothing_to_stop_when_no_task_was_started() -> None:
    await cancel_and_wait(None)
    await cancel_and_wait()


async def test_a_task_that_swallowed_its_cancellation_is_cancelled_again() -> None:
    async def stubborn() -> None:
        # swallowed once, as asyncio.wait_for (3.11) does when its future completes meanwhile
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task), 5)
    assert task.cancelled()
