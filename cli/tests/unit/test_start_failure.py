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
