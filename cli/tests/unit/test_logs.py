from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from souk.logs import (
    FileCursor,
    LogLine,
    follow,
    format_line,
    log_files,
    merge,
    only_trace,
    parse_line,
    recent,
    tail_lines,
    traced,
)

pytestmark = pytest.mark.unit


def json_line(ts: str, event: str, **fields: object) -> str:
    return orjson.dumps({"ts": ts, "level": "info", "event": event, "service": "catalog",
                         "instance": "catalog-1", **fields}).decode()


def lines_of(instance: str, *raws: str) -> list[LogLine]:
    return [parse_line(instance, raw) for raw in raws]


def test_parses_a_service_json_line() -> None:
    line = parse_line("catalog-1", json_line("2026-01-02T03:04:05.678901Z", "request", status=200)
                      + "\n")

    assert line.ts == datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert (line.instance, line.level, line.event) == ("catalog-1", "info", "request")
    assert line.fields["status"] == 200


def test_parses_a_nats_server_line_as_utc() -> None:
    line = parse_line("nats-1", "[7633] 2026/11/23 19:12:49.633625 [WRN] slow consumer")

    assert line.ts == datetime(2026, 11, 23, 19, 12, 49, 633625, tzinfo=UTC)
    assert (line.level, line.event) == ("warning", "slow consumer")


@pytest.mark.parametrize("raw", [
    "Traceback (most recent call last):",
    "{not json",
    '{"no": "timestamp"}',
    '{"ts": "yesterday", "event": "x"}',
])
def test_keeps_other_lines_untimed_and_verbatim(raw: str) -> None:
    line = parse_line("catalog-1", raw)

    assert line.ts is None
    assert line.raw == raw


def test_merges_files_by_timestamp() -> None:
    a = lines_of("a-1", json_line("2026-01-01T00:00:01Z", "a1"),
                 json_line("2026-01-01T00:00:03Z", "a3"))
    b = lines_of("b-1", json_line("2026-01-01T00:00:02Z", "b2"),
                 json_line("2026-01-01T00:00:04Z", "b4"))

    assert [line.event for line in merge([a, b])] == ["a1", "b2", "a3", "b4"]


def test_an_untimed_line_follows_the_timed_line_before_it_in_its_own_file() -> None:
    a = lines_of("a-1", json_line("2026-01-01T00:00:01Z", "boom"), "Traceback:", "  File x",
                 "ValueError", json_line("2026-01-01T00:00:05Z", "later"))
    b = lines_of("b-1", json_line("2026-01-01T00:00:02Z", "b2"))

    merged = [line.event or line.raw for line in merge([a, b])]

    assert merged == ["boom", "Traceback:", "  File x", "ValueError", "b2", "later"]


def test_lines_before_any_timestamp_come_first_and_keep_their_order() -> None:
    a = lines_of("a-1", "starting…", json_line("2026-01-01T00:00:03Z", "a3"))
    b = lines_of("b-1", json_line("2026-01-01T00:00:01Z", "b1"))

    assert [line.event or line.raw for line in merge([a, b])] == ["starting…", "b1", "a3"]


def test_equal_timestamps_keep_file_order() -> None:
    a = lines_of("a-1", json_line("2026-01-01T00:00:01Z", "first"),
                 json_line("2026-01-01T00:00:01Z", "second"))

    assert [line.event for line in merge([a])] == ["first", "second"]


def test_formats_time_instance_level_event_and_fields() -> None:
    line = parse_line("catalog-1", json_line("2026-01-02T03:04:05.678901Z", "request served",
                                             path="/p", status=200, note="two words"))
    local = line.ts.astimezone() if line.ts else None
    assert local is not None

    text = format_line(line, width=10).plain

    assert text == (f"{local:%H:%M:%S}.678 catalog-1  info    request served path=/p status=200 "
                    'note="two words"')


def test_formats_untimed_lines_verbatim_under_their_instance() -> None:
    text = format_line(parse_line("a-1", "  File 'x.py'"), width=4).plain

    # no time column, the instance padded to the width, a space, then the raw line
    assert text == " " * 13 + "a-1 " + " " + "  File 'x.py'"


def test_prints_an_exception_field_on_its_own_lines() -> None:
    line = parse_line("a-1", json_line("2026-01-01T00:00:01Z", "failed",
                                       exception="Traceback:\n  boom\n"))

    assert format_line(line).plain.endswith("failed\nTraceback:\n  boom")


def test_selects_all_logs_one_service_or_one_instance(tmp_path: Path) -> None:
    for name in ("cat-1", "catalog-1", "catalog-2", "catalog-extra", "nats-1", "supervisor"):
        (tmp_path / f"{name}.log").write_text("")

    def names(selector: str | None) -> list[str]:
        return [path.stem for path in log_files(tmp_path, selector)]

    assert names(None) == ["cat-1", "catalog-1", "catalog-2", "catalog-extra", "nats-1",
                           "supervisor"]
    assert names("catalog") == ["catalog-1", "catalog-2"]
    assert names("catalog-2") == ["catalog-2"]
    assert names("cat") == ["cat-1"]
    assert log_files(tmp_path / "missing", None) == []


def test_tails_a_file_larger_than_one_block(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text("".join(f"line {n}\n" for n in range(5000)))

    assert tail_lines(path, 3, block=100) == ["line 4997", "line 4998", "line 4999"]
    assert tail_lines(path, 0) == []
    assert len(tail_lines(path, 10_000)) == 5000


def test_a_cursor_hands_out_complete_lines_once(tmp_path: Path) -> None:
    path = tmp_path / "a-1.log"
    path.write_text("one\ntw")
    cursor = FileCursor(path)

    assert [line.raw for line in cursor.read_new()] == ["one"]
    with path.open("a") as handle:
        handle.write("o\nthree\n")
    assert [line.raw for line in cursor.read_new()] == ["two", "three"]
    assert cursor.read_new() == []


def test_a_cursor_starts_over_when_the_file_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "a-1.log"
    path.write_text("old line\n")
    cursor = FileCursor(path)
    cursor.read_new()

    path.write_text("new\n")

    assert [line.raw for line in cursor.read_new()] == ["new"]


def test_recent_then_follow_prints_each_line_once_in_time_order(tmp_path: Path) -> None:
    (tmp_path / "a-1.log").write_text(json_line("2026-01-01T00:00:01Z", "a1") + "\n")
    (tmp_path / "b-1.log").write_text(json_line("2026-01-01T00:00:02Z", "b2") + "\n")

    shown, cursors = recent(tmp_path, None, 10)
    with (tmp_path / "a-1.log").open("a") as handle:
        handle.write(json_line("2026-01-01T00:00:04Z", "a4") + "\nTraceback\n")
    (tmp_path / "c-1.log").write_text(json_line("2026-01-01T00:00:03Z", "c3") + "\n")
    batch = next(follow(tmp_path, None, cursors, sleep=lambda _: None))

    assert [line.event for line in shown] == ["a1", "b2"]
    assert [line.event or line.raw for line in batch] == ["c3", "a4", "Traceback"]


def test_recent_keeps_only_the_newest_lines_across_files(tmp_path: Path) -> None:
    (tmp_path / "a-1.log").write_text("".join(
        json_line(f"2026-01-01T00:00:{n:02d}Z", f"a{n}") + "\n" for n in range(0, 10, 2)))
    (tmp_path / "b-1.log").write_text("".join(
        json_line(f"2026-01-01T00:00:{n:02d}Z", f"b{n}") + "\n" for n in range(1, 10, 2)))

    shown, _ = recent(tmp_path, None, 3)

    assert [line.event for line in shown] == ["b7", "a8", "b9"]


TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "00f067aa0ba902b7a3ce929d0e0e4736"


def test_trace_lines_are_found_in_every_file_however_far_back_and_merged_in_time_order(
        tmp_path: Path) -> None:
    noise = "".join(json_line(f"2026-01-01T00:01:{n:02d}Z", f"noise{n}", trace_id=OTHER) + "\n"
                    for n in range(50))
    (tmp_path / "orders-1.log").write_text(
        json_line("2026-01-01T00:00:02Z", "saga started", trace_id=TRACE, span_id="a") + "\n"
        + noise + json_line("2026-01-01T00:02:00Z", "mentions it", note=TRACE) + "\n")
    (tmp_path / "gateway-1.log").write_text(
        json_line("2026-01-01T00:00:01Z", "request", trace_id=TRACE) + "\nTraceback " + TRACE
        + "\n" + json_line("2026-01-01T00:00:03Z", "response", trace_id=TRACE) + "\n")

    shown, cursors = traced(tmp_path, None, TRACE.upper(), 200)

    assert [(line.instance, line.event) for line in shown] == [
        ("gateway-1", "request"), ("orders-1", "saga started"), ("gateway-1", "response")]
    assert all(cursor.offset == cursor.path.stat().st_size for cursor in cursors)
    assert [line.event for line in traced(tmp_path, "orders", TRACE, 200)[0]] == ["saga started"]
    assert [line.event for line in traced(tmp_path, None, TRACE, 1)[0]] == ["response"]


def test_the_edges_lines_are_found_by_their_request_id_which_is_the_trace_id(
        tmp_path: Path) -> None:
    """The gateway names the request a line is about; its request id is the trace id it
    started (unless the client sent its own): `souk logs --trace` never showed the edge."""
    (tmp_path / "gateway-1.log").write_text(
        json_line("2026-01-01T00:00:01Z", "upstream refused the connection; ejected",
                  request_id=TRACE) + "\n"
        + json_line("2026-01-01T00:00:02Z", "another request", request_id=OTHER) + "\n")

    shown, _ = traced(tmp_path, None, TRACE, 200)

    assert [line.event for line in shown] == ["upstream refused the connection; ejected"]


def test_following_a_trace_shows_only_its_new_lines(tmp_path: Path) -> None:
    log = tmp_path / "cart-1.log"
    log.write_text(json_line("2026-01-01T00:00:01Z", "before", trace_id=TRACE) + "\n"
                   + json_line("2026-01-01T00:00:02Z", "half", trace_id=TRACE)[:20])
    shown, cursors = traced(tmp_path, None, TRACE, 10)
    assert [line.event for line in shown] == ["before"]
    log.write_text(log.read_text()[:-20] + json_line("2026-01-01T00:00:02Z", "half",
                                                     trace_id=TRACE) + "\n"
                   + json_line("2026-01-01T00:00:03Z", "other", trace_id=OTHER) + "\n")

    batch = next(only_trace(follow(tmp_path, None, cursors, sleep=lambda _: None), TRACE))

    assert [line.event for line in batch] == ["half"]
