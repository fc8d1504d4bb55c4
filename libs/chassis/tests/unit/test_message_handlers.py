"""Message handlers registered by contract type, with their service objects filled in."""

from __future__ import annotations

import contextvars
from typing import Any, ClassVar

import pytest

from chassis.messaging import Incoming, MessageHandlers, MessageTx
from contracts import Event

pytestmark = pytest.mark.unit


class Rang(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.Rang.v1"
    n: int


class Knocked(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.Knocked.v1"


class Door:
    def __init__(self) -> None:
        self.heard: list[Any] = []


async def test_a_handler_gets_the_message_its_envelope_and_provided_objects() -> None:
    handlers = MessageHandlers()

    @handlers.on(Rang)
    async def on_rang(event: Rang, meta: Incoming, door: Door) -> None:
        door.heard.append((event.n, meta.id))

    door = Door()
    bound = handlers.bind({Door: door})
    meta = Incoming(id="m1", type=Rang.TYPE, subject="souk.test.Rang.v1", data=b"", headers={})
    await bound[Rang](MessageTx.__new__(MessageTx), Rang(n=3), meta)
    assert door.heard == [(3, "m1")] and list(handlers) == [Rang]


def test_mistakes_are_caught_when_handlers_are_declared_or_bound() -> None:
    handlers = MessageHandlers()

    @handlers.on(Rang)
    async def on_rang(event: Rang, tx: MessageTx, door: Door) -> None: ...

    with pytest.raises(ValueError, match="already has a handler"):
        handlers.on(Rang)(on_rang)
    with pytest.raises(TypeError, match="takes no Knocked"):
        @handlers.on(Knocked)
        async def on_knocked(event: Rang) -> None: ...
    with pytest.raises(RuntimeError, match="needs a Door"):
        handlers.bind({})


def test_work_after_the_commit_runs_in_the_context_it_was_registered_in() -> None:
    # a task a handler starts after the commit (payments asking its processor) continues the
    # trace of the message it handled, not the batch's: its reply's trace must be whole
    current: contextvars.ContextVar[str] = contextvars.ContextVar("current", default="batch")
    tx = MessageTx(None)  # type: ignore[arg-type]  # no statement is run
    seen: list[str] = []

    def handle(name: str) -> None:
        current.set(name)
        tx.after_commit(lambda: seen.append(current.get()))

    for name in ("first message", "second message"):
        contextvars.copy_context().run(handle, name)
    tx.run_after_commit()
    assert seen == ["first message", "second message"]
    assert current.get() == "batch"


async def test_read_ahead_reads_a_batch_once_per_loader_and_only_for_its_ids() -> None:
    tx = MessageTx(None)  # type: ignore[arg-type]  # no statement is run
    calls: list[list[str]] = []

    async def rows_of(_: MessageTx, ids: list[str]) -> list[tuple[str, str]]:
        calls.append(ids)
        return [(i, f"row {i}") for i in ids if i != "gone"]

    tx.batch_correlation_ids = frozenset({"a"})
    assert await tx.read_ahead("a", rows_of) is None  # a batch of one: read alone
    tx.batch_correlation_ids = frozenset({"b", "a", "gone"})
    assert await tx.read_ahead("elsewhere", rows_of) is None  # not one of the batch's
    ahead = await tx.read_ahead("b", rows_of)
    assert ahead == {"a": "row a", "b": "row b", "gone": None}
    assert ahead is not None and ahead.pop("b") == "row b"
    again = await tx.read_ahead("a", rows_of)
    assert again is ahead and "b" not in again  # taken once; the next read of b is its own
    assert calls == [["a", "b", "gone"]]  # one read, in a stable order
