"""Bounded logs: a file a process keeps appending to through its own descriptor is moved to
``.1`` (older ones shifting, the oldest dropped) and truncated in place; readers of the logs
(``souk logs -f``, ``--trace``) lose nothing across a rotation."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import orjson
import pytest

from souk.logrotate import generation, rotate, rotate_large
from souk.logs import FileCursor, recent, traced

pytestmark = pytest.mark.unit


def line(n: int, trace: str = "") -> bytes:
    record = {"ts": f"2026-12-07T08:00:{n % 60:02d}.{n:06d}Z", "level": "info", "event": f"e{n}",
              **({"trace_id": trace} if trace else {})}
    return orjson.dumps(record) + b"\n"


@pytest.fixture
def appender(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A process's log: a descriptor opened for appending, held across rotations."""
    path = tmp_path / "orders-1.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    yield path, lambda *ns: [os.write(fd, line(n)) for n in ns]
    os.close(fd)


def test_a_rotated_file_keeps_its_lines_in_dot_1_and_the_process_writes_from_the_start(
        appender) -> None:  # type: ignore[no-untyped-def]
    path, write = appender
    write(1, 2)
    rotate(path, keep=2)
    write(3)
    assert generation(path, 1).read_bytes() == line(1) + line(2)
    assert path.read_bytes() == line(3)  # at the start: no hole of NULs where the old end was
    assert stat.S_IMODE(generation(path, 1).stat().st_mode) == 0o600


def test_older_files_shift_and_only_keep_of_them_are_kept(appender) -> None:  # type: ignore[no-untyped-def]
    path, write = appender
    for n in range(1, 5):
        write(n)
        rotate(path, keep=2)
    assert generation(path, 1).read_bytes() == line(4)
    assert generation(path, 2).read_bytes() == line(3)
    assert not generation(path, 3).exists() and path.read_bytes() == b""


def test_only_files_past_the_size_are_rotated(tmp_path: Path) -> None:
    (tmp_path / "big.log").write_bytes(b"x\n" * 600)
    (tmp_path / "small.log").write_bytes(b"x\n")
    (tmp_path / "big.log.1").write_bytes(b"old\n")  # an older file is not a log to rotate
    assert rotate_large(tmp_path, 1000, keep=1) == ["big.log"]
    assert (tmp_path / "big.log.1").stat().st_size == 1200
    assert (tmp_path / "big.log").stat().st_size == 0


def test_a_follower_reads_across_a_rotation_without_losing_a_line(appender) -> None:  # type: ignore[no-untyped-def]
    path, write = appender
    write(1)
    cursor = FileCursor(path)
    assert [ln.fields["event"] for ln in cursor.read_new()] == ["e1"]
    write(2, 3)  # not yet read when the rotation moves them away
    rotate(path, keep=2)
    write(4)
    assert [ln.fields["event"] for ln in cursor.read_new()] == ["e2", "e3", "e4"]
    write(5)
    assert [ln.fields["event"] for ln in cursor.read_new()] == ["e5"]


def test_a_trace_is_found_in_the_rotated_files_too(tmp_path: Path) -> None:
    trace = "ab" * 16
    path = tmp_path / "orders-1.log"
    generation(path, 2).write_bytes(line(1, trace) + line(2))
    generation(path, 1).write_bytes(line(3, trace))
    path.write_bytes(line(4) + line(5, trace))
    found, _ = traced(tmp_path, None, trace, 10)
    assert [ln.fields["event"] for ln in found] == ["e1", "e3", "e5"]


def test_the_last_lines_of_a_file_just_rotated_come_from_the_file_before(tmp_path: Path) -> None:
    path = tmp_path / "orders-1.log"
    generation(path, 1).write_bytes(line(1) + line(2) + line(3))
    path.write_bytes(line(4))
    shown, _ = recent(tmp_path, None, 3)
    assert [ln.fields["event"] for ln in shown] == ["e2", "e3", "e4"]
