"""An answer's head and body leave a service in one write (chassis.serve._OneWrite)."""

from __future__ import annotations

import asyncio

import pytest

from chassis.serve import _OneWrite

pytestmark = pytest.mark.unit

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Recorder:
    """A transport that records its writes (the wrapper's only view of the socket)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def wrapped() -> tuple[_OneWrite, Recorder]:
    raw = Recorder()
    return _OneWrite(raw, asyncio.get_running_loop()), raw  # type: ignore[arg-type]


async def test_a_head_goes_out_with_the_body_that_follows_it() -> None:
    one, raw = wrapped()
    one.write(HEAD)
    one.write(b"{}")
    await asyncio.sleep(0)
    assert raw.writes == [HEAD + b"{}"]


async def test_a_head_whose_body_waits_goes_out_alone_at_the_next_turn_and_first() -> None:
    one, raw = wrapped()
    one.write(HEAD)
    assert raw.writes == []
    await asyncio.sleep(0)
    assert raw.writes == [HEAD]
    one.write(b"data: 1\n\n")
    assert raw.writes == [HEAD, b"data: 1\n\n"]


async def test_body_chunks_and_a_100_continue_are_not_held() -> None:
    one, raw = wrapped()
    one.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    one.write(HEAD)
    one.write(b"{}")
    one.write(b"more")
    assert raw.writes == [b"HTTP/1.1 100 Continue\r\n\r\n", HEAD + b"{}", b"more"]


async def test_closing_sends_a_held_head_first_and_the_rest_passes_through() -> None:
    one, raw = wrapped()
    one.write(HEAD)
    one.close()
    assert raw.writes == [HEAD] and raw.closed
    await asyncio.sleep(0)
    assert raw.writes == [HEAD]  # not twice
    assert one.get_extra_info("peername") == "info:peername"
