from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from souk.dlq import DeadLetter, replay_headers
from souk.load import LoadResult, percentile
from souk.main import app

pytestmark = pytest.mark.unit

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("command", [
    ["verify"], ["verify", "--json", "--wait", "5"], ["load", "--checkouts", "3"],
    ["dlq", "list"], ["dlq", "replay", "--all"], ["dlq", "replay", "3", "4"],
    ["replay", "analytics"], ["scale", "orders=2"], ["hold", "orders-1"], ["release", "orders-1"],
    ["keys", "rotate"], ["fault", "kill", "orders-1"], ["fault", "pause", "orders-1"],
    ["fault", "resume", "orders-1"], ["fault", "heal"], ["fault", "list"],
    ["fault", "slow", "orders", "broker", "--ms", "5"], ["config", "list"],
    ["config", "get", "orders.log_level"], ["config", "set", "orders.log_level", "debug"],
    ["traces"], ["trace", "0" * 32], ["chaos", "run", "kill-the-broker"]])
def test_commands_on_the_platform_exit_2_when_souk_is_not_running(tmp_path: Path,
                                                          command: list[str]) -> None:
    code, output = run(*command, "--home", str(tmp_path))

    assert code == 2
    assert "souk is not running" in output


@pytest.mark.parametrize("args", [[], ["1", "--all"]])
def test_dlq_replay_wants_either_sequence_numbers_or_all(tmp_path: Path, args: list[str]) -> None:
    code, output = run("dlq", "replay", *args, "--home", str(tmp_path))

    assert code == 2
    assert "give the SEQ numbers to replay, or --all" in output


@pytest.mark.parametrize(("args", "bad"), [
    (["--checkouts", "0"], "--checkouts"), (["--concurrency", "0"], "--concurrency"),
    (["--decline-rate", "1.5"], "--decline-rate"), (["--lines", "0"], "--lines"),
    (["--checkouts", "many"], "--checkouts")])
def test_load_refuses_out_of_range_options(tmp_path: Path, args: list[str], bad: str) -> None:
    code, output = run("load", *args, "--home", str(tmp_path))

    assert code == 2
    assert bad in output


def test_verify_refuses_a_negative_wait(tmp_path: Path) -> None:
    code, output = run("verify", "--wait", "-1", "--home", str(tmp_path))

    assert code == 2
    assert "--wait" in output


@pytest.mark.parametrize(("command", "bad"), [
    (["up", "--timeout", "-1"], "--timeout"), (["down", "--timeout", "-1"], "--timeout"),
    (["scale", "--timeout", "-1", "catalog=2"], "--timeout"), (["logs", "--lines", "-3"], "--lines"),
])
def test_a_negative_wait_or_count_is_refused_before_anything_is_done(
        tmp_path: Path, command: list[str], bad: str) -> None:
    code, output = run(*command, "--home", str(tmp_path))

    assert code == 2
    assert f"Invalid value for '{bad}'" in output and "greater than or equal to" in output
    assert not (tmp_path / "run").exists()  # nothing started, nothing written


def test_dlq_replay_takes_only_whole_sequence_numbers(tmp_path: Path) -> None:
    code, _ = run("dlq", "replay", "seven", "--home", str(tmp_path))

    assert code == 2


def test_the_help_lists_the_operator_commands() -> None:
    code, output = run("--help")

    assert code == 0
    for command in ("verify", "load", "dlq", "replay"):
        assert command in output


@pytest.mark.parametrize(("p", "expected"), [(50, 5.0), (95, 10.0), (99, 10.0), (10, 1.0)])
def test_percentiles_are_nearest_rank(p: float, expected: float) -> None:
    assert percentile([float(n) for n in range(1, 11)], p) == expected


def test_percentile_of_nothing_is_zero() -> None:
    assert percentile([], 99) == 0.0


def test_the_load_json_has_exactly_the_documented_fields() -> None:
    result = LoadResult(checkouts=10, confirmed=7, cancelled=2, failed=1, elapsed_s=2.0,
                        latencies_ms=[float(n) for n in range(1, 10)], errors=["boom"],
                        retried=2, retries=3)

    assert result.as_json() == {"checkouts": 10, "confirmed": 7, "cancelled": 2, "failed": 1,
                                "retried": 2, "retries": 3, "per_second": 4.5,
                                "latency_ms": {"p50": 5.0, "p95": 9.0, "p99": 9.0},
                                "errors": ["boom"]}


DLQ_HEADERS = {
    "Nats-Msg-Id": "dlq.inventory.o1.reserve", "Souk-Msg-Id": "o1.reserve",
    "Souk-Type": "inventory.ReserveStock.v1", "Souk-Correlation-Id": "o1",
    "traceparent": "00-abc-def-01", "Souk-Dlq-Consumer": "inventory",
    "Souk-Dlq-Subject": "souk.inventory.ReserveStock.v1", "Souk-Dlq-Error": "boom",
    "Souk-Dlq-Deliveries": "5"}


def test_a_dead_letter_is_read_from_its_headers() -> None:
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    letter = DeadLetter.of(7, "souk-dlq.inventory", DLQ_HEADERS, b"{}", at)

    assert letter.as_json() == {
        "seq": 7, "consumer": "inventory", "subject": "souk.inventory.ReserveStock.v1",
        "type": "inventory.ReserveStock.v1", "msg_id": "o1.reserve", "deliveries": 5,
        "error": "boom", "time": "2025-01-02T03:04:05+00:00"}


def test_a_replay_keeps_the_original_headers_under_a_new_nats_msg_id() -> None:
    letter = DeadLetter.of(7, "souk-dlq.inventory", DLQ_HEADERS, b"{}", None)

    assert replay_headers(letter) == {
        "Nats-Msg-Id": "o1.reserve.replay.7", "Souk-Msg-Id": "o1.reserve",
        "Souk-Type": "inventory.ReserveStock.v1", "Souk-Correlation-Id": "o1",
        "traceparent": "00-abc-def-01"}


def test_a_dead_letter_without_consumer_header_takes_it_from_the_subject() -> None:
    letter = DeadLetter.of(1, "souk-dlq.payments", {}, None, None)

    assert (letter.consumer, letter.deliveries, letter.data) == ("payments", None, b"")
