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


def test_a_made_up_cursor_names_nothing_a_query_would_fail_on() -> None:
    """The tag's key is the listing's name, no secret: a cursor anyone builds with it is
    refused when its payload is not a flat list of the listing's types, or holds what a database
    refuses as a parameter (an integer past 64 bits, text with NUL)."""
    import base64
    import hashlib

    def forged(payload: bytes) -> str:
        tag = hashlib.blake2b(payload, key=b"test.listing.v1", digest_size=8).digest()
        return base64.urlsafe_b64encode(tag + payload).rstrip(b"=").decode()

    codec = CursorCodec("test.listing.v1")
    assert codec.decode(forged(b'[9223372036854775807,"x"]'), (int, str)) == [2**63 - 1, "x"]
    for payload, shape in ((b"[" * 760 + b"]" * 760, (str,)),  # as deep as 2,048 characters hold
                           (b'[9223372036854775808,"x"]', (int, str)),
                           (b'[-9223372036854775809,"x"]', (int, str)),
                           (b'["a\\u0000b"]', (str,)), (b"[true]", (int,))):
        with pytest.raises(InvalidCursor, match="malformed"):
            codec.decode(forged(payload), shape)


def test_a_cursor_item_of_type_datetime_is_given_back_parsed() -> None:
    from datetime import UTC, datetime

    codec = CursorCodec("test.listing.v1")
    at = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
    assert codec.decode(codec.encode([at.isoformat(), "e1"]), (datetime, str)) == [at, "e1"]
    assert codec.decode(codec.encode(["2026-12-07T12:00:00+01:00", "e1"]), (datetime, str)) \
        == [at, "e1"]  # given back in UTC
    for bad in (["not-a-date", "e1"], [7, "e1"], ["2026-12-07T11:00:00", "e1"],  # no zone
                # valid text whose UTC is outside what a datetime holds (a 500 in payments)
                ["0001-01-01T00:00:00+14:00", "e1"], ["9999-12-31T23:59:59.999999-23:59", "e1"]):
        with pytest.raises(InvalidCursor, match="malformed"):
            codec.decode(codec.encode(bad), (datetime, str))
