"""What `souk up` shows when a process cannot start: its last log lines as `souk logs` shows
them, one line each, and only the last traceback (a restart loop repeats the same one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from souk import main
from souk.control import ControlError

pytestmark = pytest.mark.unit


def test_the_last_lines_are_readable_and_the_traceback_shown_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "orders-1.log"
    failure = {"level": "error", "event": "start-up failed", "service": "orders",
               "instance": "orders-1",
               "exception": "Traceback (most recent call last):\nRuntimeError: needs a registry"}
    lines = [{"ts": f"2026-12-07T06:00:0{n}+00:00", **failure} for n in range(3)]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))

    main._explain(ControlError("orders-1 exited 3 times before becoming ready", "orders-1",
                               str(log)))

    shown = capsys.readouterr().err
    assert "start-up failed: orders-1 exited 3 times" in shown
    assert "souk logs orders-1 for more" in shown
    assert shown.count("orders-1 error   start-up failed") == 3
    assert shown.count("RuntimeError: needs a registry") == 1  # the last one's, not three
    assert '{"' not in shown  # no raw JSON


def test_lines_of_earlier_runs_are_not_shown_as_this_start_s(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A log is appended to: a process that logged nothing before the timeout showed the last
    run's lines, ending in "registered", as if this one were healthy."""
    from datetime import UTC, datetime

    log = tmp_path / "catalog-1.log"
    earlier = {"level": "info", "event": "registered", "instance": "catalog-1"}
    log.write_text(json.dumps({"ts": "2026-12-07T05:00:00+00:00", **earlier}) + "\n")
    since = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)

    main._explain(ControlError("catalog-1 not ready after 3 s", "catalog-1", str(log)), since)
    shown = capsys.readouterr().err
    assert "registered" not in shown
    assert "catalog-1 logged nothing since this start" in shown
    assert "souk up --timeout N" in shown

    later = {"level": "error", "event": "cannot reach the registry", "instance": "catalog-1"}
    with log.open("a") as file:
        file.write(json.dumps({"ts": "2026-12-07T06:00:01+00:00", **later}) + "\n")
    main._explain(ControlError("catalog-1 not ready after 3 s", "catalog-1", str(log)), since)
    shown = capsys.readouterr().err
    assert "cannot reach the registry" in shown and "registered" not in shown
