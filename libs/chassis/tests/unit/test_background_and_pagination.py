"""The periodic-work helper and the one cursor codec."""

from __future__ import annotations

import asyncio

import pytest

from chassis.background import Background
from chassis.pagination import CursorCodec, InvalidCursor

pytestmark = pytest.mark.unit


async def test_work_runs_on_schedule_drains_a_backlog_and_survives_failures() -> None:
    runs: list[str] = []
    backlog = [True, True, False]

    async def drain() -> bool:
        runs.append("drain")
        return backlog.pop(0) if backlog else False

    async def flaky() -> None:
        runs.append("flaky")
        if runs.count("flaky") == 1:
            raise RuntimeError("first run fails")

    background = Background()
    background.every(60, drain, name="drain")
    background.every(0.01, flaky, name="flaky")
    for _ in range(200):
        if runs.count("flaky") >= 3:
            break
        await asyncio.sleep(0.01)
    await background.close()
    assert runs.count("drain") == 3  # three runs back to back, then the 60 s wait
    assert runs.count("flaky") >= 3  # a failure does not stop the schedule
    assert background.names == []


async def test_one_name_runs_once() -> None:
    background = Background()

    async def work() -> None:
        return None

    background.every(1, work, name="w")
    with pytest.raises(ValueError, match="already running"):
        background.every(1, work, name="w")
    await background.close()


def test_a_cursor_round_trips_and_refuses_any_change() -> None:
    codec = CursorCodec("test.listing.v1")
    cursor = codec.encode(["Lamp", "0193-id", 7])
    assert codec.decode(cursor, (str, str, int)) == ["Lamp", "0193-id", 7]
    for bad in ("", "x" * 3000, cursor[:-1], cursor + "A", "!" + cursor[1:],
                cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]):
        with pytest.raises(InvalidCursor):
            codec.decode(bad, (str, str, int))
    with pytest.raises(InvalidCursor, match="malformed"):
        codec.decode(cursor, (str, str))
    with pytest.raises(InvalidCursor):
        CursorCodec("other.listing.v1").decode(cursor, (str, str, int))
