"""Replays (service/replay.py): the stream rebuilds the read models beside the live ones, one
replay at a time, and a stream that cannot be read, or stalls, destroys nothing."""

from __future__ import annotations

import asyncio

import pytest

from analytics.domain.errors import ReplayIncomplete, StreamUnavailable
from analytics.domain.facts import Status
from analytics.service import projection
from analytics.service.replay import Replays

from ..conftest import fact
from .conftest import FakeHistory, InMemoryReadModels

pytestmark = pytest.mark.unit

STORED = [fact(Status.PLACED, "o-1"), fact(Status.CONFIRMED, "o-1"), fact(Status.PLACED, "o-2"),
          fact(Status.CONFIRMED, "o-1")]  # the last one a duplicate


async def test_a_replay_rebuilds_from_the_stream_and_answers_the_summary(
        models: InMemoryReadModels) -> None:
    await projection.project(models, fact(Status.CONFIRMED, "stale-not-in-the-stream"))
    done = await Replays(models, FakeHistory(STORED), batch_size=2).replay()
    assert done.replayed == 4  # duplicates included
    assert done.summary.orders_by_status == {"placed": 1, "confirmed": 1, "cancelled": 0}
    assert done.summary == await projection.summary(models)


async def test_an_unreadable_stream_clears_nothing(models: InMemoryReadModels) -> None:
    await projection.project(models, fact(Status.CONFIRMED, "o-1"))
    history = FakeHistory(STORED)
    history.available = False
    with pytest.raises(StreamUnavailable):
        await Replays(models, history, batch_size=2).replay()
    assert list(models.facts) == ["o-1"] and history.readings == 0


async def test_a_replay_that_stalls_leaves_the_live_read_models_as_they_were(
        models: InMemoryReadModels) -> None:
    await projection.project(models, fact(Status.CONFIRMED, "o-live"))
    before = await projection.summary(models)
    history = FakeHistory(STORED)
    history.stall_after = 2  # two facts read, then silence: not the end of the stream
    with pytest.raises(ReplayIncomplete):
        await Replays(models, history, batch_size=1).replay()
    assert await projection.summary(models) == before and list(models.facts) == ["o-live"]
    assert models.rebuilding is None  # the partial rebuild was dropped
    done = await Replays(models, FakeHistory(STORED), batch_size=1).replay()  # the next one
    assert done.summary.orders_by_status == {"placed": 1, "confirmed": 1, "cancelled": 0}


async def test_events_projected_during_a_replay_are_kept_by_the_swap(
        models: InMemoryReadModels) -> None:
    history = FakeHistory(STORED)
    history.gate = asyncio.Event()
    replaying = asyncio.create_task(Replays(models, history, batch_size=1).replay())
    for _ in range(100):  # bounded: until the replay is held inside its reading
        if history.readings:
            break
        await asyncio.sleep(0)
    assert models.facts == {}  # the live models are not cleared while it runs
    await projection.project(models, fact(Status.PLACED, "o-new"))  # after the stream's end
    history.gate.set()
    done = await asyncio.wait_for(replaying, 5)
    assert sorted(models.facts) == ["o-1", "o-2", "o-new"]
    assert done.summary.orders == 3


async def test_a_second_replay_waits_for_the_first(models: InMemoryReadModels) -> None:
    history = FakeHistory(STORED)
    history.gate = asyncio.Event()
    replays = Replays(models, history, batch_size=2)
    first = asyncio.create_task(replays.replay())
    second = asyncio.create_task(replays.replay())
    for _ in range(100):  # bounded: until the first is held inside its reading
        if history.readings:
            break
        await asyncio.sleep(0)
    assert replays.running and history.readings == 1
    history.gate.set()
    results = await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert history.readings == 2 and history.most_at_once == 1
    assert results[0] == results[1] and not replays.running
