"""The admin reads of ``souk verify``: bounded by the wait asked for, and no read left running
when another fails."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from souk.admin import FetchError, take_snapshot, wait_until_settled

pytestmark = pytest.mark.unit


class Hanging:
    """An admin client whose instance never answers (a paused process the state file did not
    know about yet)."""

    async def listing(self, service: str, path: str) -> Any:
        await asyncio.sleep(3600)

    async def messaging(self) -> Any:
        await asyncio.sleep(3600)


async def test_the_wait_ends_on_time_though_a_read_has_not_answered() -> None:
    said: list[str] = []
    loop = asyncio.get_running_loop()
    began = loop.time()
    await wait_until_settled(Hanging(), 0.3, said.append)  # type: ignore[arg-type]
    assert loop.time() - began < 60  # not the read's own timeout: the wait's
    assert said[-1] == "gave up waiting: no answer within the wait"


async def test_a_failed_read_leaves_no_other_read_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """One read failing used to leave the broker's count running past the command, which then
    printed a traceback when it failed during the loop's shutdown."""
    finished: list[str] = []

    class Failing(Hanging):
        async def listing(self, service: str, path: str) -> Any:
            return []

        async def messaging(self) -> Any:
            raise FetchError("telemetry-1 is paused")

    async def dlq(nats_url: str) -> dict[str, int]:
        await asyncio.sleep(0.05)
        finished.append("dlq")
        return {}

    monkeypatch.setattr("souk.admin.count_by_consumer", dlq)
    with pytest.raises(FetchError, match="telemetry-1 is paused"):
        await take_snapshot(Failing(), "nats://nowhere")  # type: ignore[arg-type]
    assert finished == ["dlq"]  # waited for, not abandoned
