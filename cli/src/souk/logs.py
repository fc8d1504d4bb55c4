"""Reading the processes' logs: parse each line, merge files by time, render them readably.

Services write one JSON object per line (``ts``, ``level``, ``event`` …); nats-server writes
``[pid] YYYY/MM/DD HH:MM:SS.ffffff [INF] text``; anything else (a traceback) is kept as is and
sorts right after the previous timestamped line of its own file.

``traced`` finds one request's lines across every file: the JSON lines written inside a span carry
``trace_id`` (and ``span_id``).
"""

from __future__ import annotations

import contextlib
import heapq
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
from rich.text import Text

from souk.logrotate import generation, generations, rotated_id

__all__ = ["TRACEBACK_FIELDS", "FileCursor", "LogLine", "follow", "format_line", "log_files",
           "merge", "only_trace", "parse_line", "recent", "tail_lines", "traced"]

EARLIEST = datetime.min.replace(tzinfo=UTC)
_NATS = re.compile(r"^\[\d+\] (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d+) \[(\w+)\] (.*)$")
_NATS_LEVELS = {"INF": "info", "WRN": "warning", "ERR": "error", "FTL": "critical",
                "DBG": "debug", "TRC": "debug"}
# the fields printed on lines of their own, after the line
TRACEBACK_FIELDS = ("exception", "traceback")
_SHOWN_ELSEWHERE = {"ts", "level", "event", "service", "instance", *TRACEBACK_FIELDS}
LEVEL_STYLES = {"debug": "dim", "info": "green", "warning": "yellow", "error": "bold red",
                "critical": "bold white on red"}


@dataclass(frozen=True)
class LogLine:
    """One line of one process's log. ``ts`` is None when the line carries no timestamp."""

    instance: str
    raw: str
    ts: datetime | None = None
    level: str = ""
    event: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


def _parse_ts(text: str) -> datetime | None:
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def parse_line(instance: str, raw: str) -> LogLine:
    """Parse a JSON line or a nats-server line; anything else comes back untimed."""
    raw = raw.rstrip("\r\n")
    if raw.startswith("{"):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("ts"), str) \
                and (ts := _parse_ts(data["ts"])) is not None:
            return LogLine(instance, raw, ts, str(data.get("level", "")),
                           str(data.get("event", "")), data)
    if match := _NATS.match(raw):
        # nats runs with --logtime_utc
        ts = datetime.strptime(match[1], "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=UTC)
        return LogLine(instance, raw, ts, _NATS_LEVELS.get(match[2], match[2].lower()), match[3])
    return LogLine(instance, raw)


def _keyed(lines: Iterable[LogLine], since: datetime) -> Iterator[tuple[datetime, LogLine]]:
    for line in lines:
        since = line.ts or since
        yield since, line


def merge(files: Sequence[Sequence[LogLine]],
          since: Sequence[datetime] | None = None) -> list[LogLine]:
    """Merge per-file lines by time. Each file keeps its own order, and an untimed line stays
    after the timed line before it (``since[i]`` stands in for file i's lines before any)."""
    starts = since or [EARLIEST] * len(files)
    streams = [[(key, index, position, line) for position, (key, line)
                in enumerate(_keyed(lines, starts[index]))]
               for index, lines in enumerate(files)]
    return [line for _, _, _, line in heapq.merge(*streams, key=lambda item: item[:3])]


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value if value and not re.search(r"[\s\"=]", value) else orjson.dumps(value).decode()
    return orjson.dumps(value, default=str).decode()


def format_line(line: LogLine, width: int = 12) -> Text:
    """``HH:MM:SS.mmm instance level event key=value…`` (local time), styled by level."""
    name = line.instance.ljust(width)
    if line.ts is None:
        return Text.assemble((" " * 13, ""), (name, "cyan"), " ", line.raw)
    local = line.ts.astimezone()
    stamp = f"{local:%H:%M:%S}.{local.microsecond // 1000:03d} "
    level = line.level.lower()
    text = Text.assemble((stamp, "dim"), (name, "cyan"), " ",
                         (level.ljust(7), LEVEL_STYLES.get(level, "")), " ",
                         (line.event, "bold" if level in ("warning", "error") else ""))
    for key, value in line.fields.items():
        if key not in _SHOWN_ELSEWHERE:
            text.append(f" {key}=", "dim")
            text.append(_value(value))
    for key in TRACEBACK_FIELDS:
        if isinstance(extra := line.fields.get(key), str) and extra:
            text.append("\n" + extra.rstrip("\n"))
    return text


def log_files(logs: Path, selector: str | None = None) -> list[Path]:
    """The ``*.log`` files of ``logs``: all, one service's (``SERVICE-*.log``), or one
    instance's (exact name)."""
    if not logs.is_dir():
        return []
    files = sorted(logs.glob("*.log"))
    if selector is None:
        return files
    return [path for path in files
            if path.stem == selector or re.fullmatch(rf"{re.escape(selector)}-\d+", path.stem)]


def tail_lines(path: Path, count: int, end: int | None = None, block: int = 65536) -> list[str]:
    """The last ``count`` lines of ``path`` (up to byte ``end``) without reading it all."""
    if count <= 0:
        return []
    with open(path, "rb") as handle:
        if end is None:
            end = handle.seek(0, 2)
        data = b""
        while end > 0 and data.count(b"\n") <= count:
            start = max(0, end - block)
            handle.seek(start)
            data = handle.read(end - start) + data
            end = start
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[-count:]


class FileCursor:
    """Follows one growing log file: hands out each complete new line once."""

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path, self.offset = path, offset
        self.instance = path.stem
        self.last_ts = EARLIEST
        self._partial = b""
        self._rotation = rotated_id(path)  # a new .1: the file was rotated since the last read

    def read_new(self) -> list[LogLine]:
        """Lines completed since the last call. A file truncated by the supervisor's rotation
        is read from its start, after the rest of what was moved to its ``.1`` file."""
        try:
            moved = b""
            if (rotation := rotated_id(self.path)) != self._rotation:
                self._rotation = rotation
                moved = self._rest_of_rotated()
                self.offset = 0
            elif self.path.stat().st_size < self.offset:  # truncated by someone else
                self.offset, self._partial = 0, b""
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = moved + handle.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk) - len(moved)
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        lines = [parse_line(self.instance, raw.decode("utf-8", errors="replace"))
                 for raw in complete]
        self._advance(lines)
        return lines

    def _rest_of_rotated(self) -> bytes:
        """What the rotated copy holds past this cursor (empty when it is not this file's)."""
        try:
            with open(generation(self.path, 1), "rb") as handle:
                if handle.seek(0, 2) < self.offset:
                    self._partial = b""
                    return b""
                handle.seek(self.offset)
                return handle.read()
        except FileNotFoundError:
            self._partial = b""
            return b""

    def _advance(self, lines: Iterable[LogLine]) -> None:
        for line in lines:
            self.last_ts = line.ts or self.last_ts


def recent(logs: Path, selector: str | None, count: int) -> tuple[list[LogLine], list[FileCursor]]:
    """The last ``count`` merged lines, and cursors placed right after them for following."""
    per_file: list[list[LogLine]] = []
    cursors: list[FileCursor] = []
    for path in log_files(logs, selector):
        try:
            end = path.stat().st_size
            raws = tail_lines(path, count, end)
        except FileNotFoundError:
            continue
        if len(raws) < count:  # just rotated: the rest is in the file before
            with contextlib.suppress(FileNotFoundError):
                raws = tail_lines(generation(path, 1), count - len(raws)) + raws
        cursor = FileCursor(path, end)
        lines = [parse_line(cursor.instance, raw) for raw in raws]
        cursor._advance(lines)
        per_file.append(lines)
        cursors.append(cursor)
    return merge(per_file)[-count:] if count > 0 else [], cursors


def _of_trace(line: LogLine, trace_id: str) -> bool:
    # the edge's lines name their request, whose id is the trace's (unless the client sent one)
    fields = line.fields
    return fields.get("trace_id") == trace_id or fields.get("request_id") == trace_id


def traced(logs: Path, selector: str | None, trace_id: str,
           count: int) -> tuple[list[LogLine], list[FileCursor]]:
    """The last ``count`` merged lines whose JSON has ``"trace_id": trace_id``, searched through
    the whole of each file, and cursors placed at the files' ends for following."""
    trace_id = trace_id.strip().lower()
    needle = trace_id.encode()
    per_file: list[list[LogLine]] = []
    cursors: list[FileCursor] = []
    for path in log_files(logs, selector):
        cursor = FileCursor(path)
        found: list[LogLine] = []
        for older in reversed(generations(path)):  # what rotation moved away, oldest first
            with contextlib.suppress(FileNotFoundError), open(older, "rb") as handle:
                found += _trace_lines(handle, cursor.instance, needle, trace_id)[0]
        try:
            with open(path, "rb") as handle:
                lines, cursor.offset = _trace_lines(handle, cursor.instance, needle, trace_id)
                found += lines
        except FileNotFoundError:
            continue
        cursor._advance(found)
        per_file.append(found)
        cursors.append(cursor)
    return merge(per_file)[-count:] if count > 0 else [], cursors


def _trace_lines(handle: IO[bytes], instance: str, needle: bytes,
                 trace_id: str) -> tuple[list[LogLine], int]:
    """The complete lines of ``trace_id`` in ``handle``, and how many bytes of complete lines
    were read (a line still being written is left for the follower)."""
    found, read = [], 0
    for raw in handle:
        if not raw.endswith(b"\n"):
            break  # a line still being written: the follower reads it whole
        read += len(raw)
        if needle in raw:  # cheap test first: most lines are of other traces
            line = parse_line(instance, raw.decode("utf-8", errors="replace"))
            if _of_trace(line, trace_id):
                found.append(line)
    return found, read


def only_trace(batches: Iterator[list[LogLine]], trace_id: str) -> Iterator[list[LogLine]]:
    """The lines of ``trace_id`` from followed batches (batches left empty are skipped)."""
    trace_id = trace_id.strip().lower()
    for batch in batches:
        if kept := [line for line in batch if _of_trace(line, trace_id)]:
            yield kept


def follow(logs: Path, selector: str | None, cursors: list[FileCursor],
           sleep: Callable[[float], None] = time.sleep,
           interval: float = 0.2) -> Iterator[list[LogLine]]:
    """Batches of new lines, merged by time, forever; files that appear are read from the start."""
    known = {cursor.path for cursor in cursors}
    while True:
        for path in log_files(logs, selector):
            if path not in known:
                known.add(path)
                cursors.append(FileCursor(path))
        since = [cursor.last_ts for cursor in cursors]
        batch = merge([cursor.read_new() for cursor in cursors], since)
        if batch:
            yield batch
        sleep(interval)
