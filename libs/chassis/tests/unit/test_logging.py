"""Structured logs: loggers are cached on first use, and still follow a later configuration."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from chassis.logging import configure_logging, get_logger, set_level

pytestmark = pytest.mark.unit


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_a_line_is_one_json_object_with_the_process_and_its_fields(
        capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("orders", "orders-1")
    get_logger("lines").info("order placed", order_id="o-1", total_minor=1250)
    (line,) = _lines(capsys)
    record = json.loads(line)
    assert record["event"] == "order placed" and record["level"] == "info"
    assert (record["service"], record["instance"]) == ("orders", "orders-1")
    assert (record["order_id"], record["total_minor"]) == ("o-1", 1250)
    assert record["ts"].endswith("Z")


def test_a_logger_used_before_a_new_configuration_follows_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    log = get_logger("followed")
    configure_logging("demo", "demo-1")
    log.info("first")  # cached from here on
    configure_logging("other", "other-2", fmt="console")
    log.info("second")
    configure_logging("demo", "demo-1")
    log.info("third")
    first, second, third = _lines(capsys)
    assert json.loads(first)["service"] == "demo"
    assert not second.startswith("{") and "second" in second and "other-2" in second
    assert json.loads(third)["event"] == "third"


def test_the_level_moves_under_a_cached_logger(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("demo", "demo-1", level="info")
    log = get_logger("levels")
    log.info("kept")
    set_level("warning")
    log.info("dropped")
    log.warning("a warning")
    set_level("debug")
    log.debug("a detail")
    configure_logging("demo", "demo-1", level="info")
    log.debug("dropped again")
    events = [json.loads(line)["event"] for line in _lines(capsys)]
    assert events == ["kept", "a warning", "a detail"]


def test_lines_go_to_the_stdout_of_the_moment(capsys: pytest.CaptureFixture[str]) -> None:
    """sys.stdout replaced after a logger was cached (a test's capture, a redirect)."""
    configure_logging("demo", "demo-1")
    log = get_logger("moments")
    log.info("one")
    elsewhere = io.StringIO()
    with contextlib.redirect_stdout(elsewhere):
        log.info("two")
    log.info("three")
    assert [json.loads(line)["event"] for line in _lines(capsys)] == ["one", "three"]
    assert json.loads(elsewhere.getvalue())["event"] == "two"
