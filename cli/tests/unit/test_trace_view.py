from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from souk.trace_view import span_label, trace_list, trace_tree, traces_table

pytestmark = pytest.mark.unit

T0 = 1_767_225_600_000_000_000
MS = 1_000_000


def span(span_id: str, service: str, name: str, start_ms: float, duration_ms: float,
         children: list[dict[str, object]] | None = None, **extra: object) -> dict[str, object]:
    return {"span_id": span_id, "service": service, "name": name, "kind": "server",
            "start_ns": T0 + int(start_ms * MS), "duration_ms": duration_ms,
            "status": "unset", "status_message": "", "attributes": {}, "children": children or [],
            **extra}


DETAIL = {
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "summary": {"start_ns": T0, "duration_ms": 42.0, "span_count": 3, "error": True,
                "services": ["gateway", "orders", "payments"], "order_id": "o-7", "has_root": True},
    "tree": [span("1", "gateway", "POST /api/v1/orders", 0, 42.0, [
        span("2", "orders", "saga checkout", 1.5, 30.0, [
            span("3", "payments", "authorize", 12.25, 8.0, status="error",
                 status_message="card declined", attributes={"souk.order_id": "o-7"})],
             attributes={"souk.order_id": "o-7"})])],
}


def render(renderable: object) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_a_trace_prints_as_a_tree_with_offsets_durations_statuses_and_the_order() -> None:
    text = render(trace_tree(DETAIL))

    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0].startswith("trace 4bf92f3577b34da6a3ce929d0e0e4736")
    assert "42.0 ms" in lines[0] and "3 spans" in lines[0] and "error" in lines[0]
    assert "order=o-7" in lines[0]
    assert lines[1].endswith("+0.0 ms gateway POST /api/v1/orders server 42.0 ms unset")
    assert "+1.5 ms orders saga checkout server 30.0 ms unset order=o-7" in lines[2]
    assert "+12.2 ms payments authorize server 8.0 ms error (card declined) order=o-7" in lines[3]
    # nesting: each child is indented further than its parent
    indents = [len(line) - len(line.lstrip("│├└─ ")) for line in lines[1:4]]
    assert indents[0] < indents[1] < indents[2]


def test_a_trace_whose_root_has_not_arrived_says_so() -> None:
    detail = {**DETAIL, "summary": {**DETAIL["summary"], "has_root": False}}  # type: ignore[dict-item]
    assert "root span not received yet" in render(trace_tree(detail))


def test_a_span_label_shows_long_durations_in_seconds() -> None:
    label = span_label(span("1", "orders", "saga", 0, 12_500.0), T0)
    assert "12.50 s" in label.plain


def test_the_traces_table_lists_each_trace_on_one_line() -> None:
    items = [{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "root_service": "gateway",
              "root_name": "POST /api/v1/orders", "start_ns": T0, "duration_ms": 42.0,
              "span_count": 40, "services": ["gateway", "orders"], "error": False,
              "order_id": "o-7"}]

    text = render(traces_table(items))

    [header, row] = [line for line in text.splitlines() if line.strip()]
    assert header.split()[:3] == ["started", "trace", "id"]
    assert "4bf92f3577b34da6a3ce929d0e0e4736" in row and "gateway: POST /api/v1/orders" in row
    assert "42.0 ms" in row and " 40 " in row and "gateway, orders" in row and " ok " in row
    assert row.rstrip().endswith("o-7")


def test_on_an_80_column_terminal_each_trace_takes_two_lines_and_loses_nothing() -> None:
    order = "01a24e4e-e446-73ff-b597-6d469f6df5f7"
    items = [{"trace_id": "e369ada6910c39931a147bf2ed6b1ec3", "root_service": "gateway",
              "root_name": "POST /api/v1/orders", "start_ns": T0, "duration_ms": 20.8,
              "span_count": 12, "services": ["gateway", "orders"], "error": False,
              "order_id": order},
             {"trace_id": "3eaa41b5058b17ce4c5e8899b898f713", "root_service": "gateway",
              "root_name": "PUT /api/v1/cart", "start_ns": T0 - 86_400_000 * MS,
              "duration_ms": 12_500.0, "span_count": 3, "services": ["gateway"], "error": True}]
    today = datetime.fromtimestamp(T0 / 1e9, UTC).astimezone()
    console = Console(width=80, record=True, color_system=None)
    console.print(trace_list(items, today=today))

    lines = [line.rstrip() for line in console.export_text().splitlines()]

    assert len(lines) == 5 and all(len(line) <= 80 for line in lines)
    assert lines[0].split()[:3] == ["started", "trace", "id"]
    first, second = lines[1], lines[2]
    assert first.startswith(f"{today:%H:%M:%S}.")  # today's: the time alone
    assert "e369ada6910c39931a147bf2ed6b1ec3" in first and "20.8 ms" in first
    assert first.split()[-2:] == ["12", "ok"]
    assert second.split() == ["gateway:", "POST", "/api/v1/orders", "order", order]
    assert lines[3].startswith(f"{today - timedelta(days=1):%m-%d %H:%M:%S}.")  # another day
    assert "12.50 s" in lines[3] and lines[3].split()[-2:] == ["3", "error"]
    assert lines[4].split() == ["gateway:", "PUT", "/api/v1/cart"]


def test_a_trace_of_another_day_shows_its_month_and_day() -> None:
    item = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "root_service": "gateway",
            "root_name": "GET /", "start_ns": T0, "duration_ms": 1.0, "span_count": 1,
            "services": ["gateway"], "error": False}
    tomorrow = datetime.fromtimestamp(T0 / 1e9, UTC).astimezone() + timedelta(days=1)
    console = Console(width=80, record=True, color_system=None)
    console.print(trace_list([item], today=tomorrow))

    start = datetime.fromtimestamp(T0 / 1e9, UTC).astimezone()
    assert console.export_text().splitlines()[1].startswith(f"{start:%m-%d %H:%M:%S}.")
