"""Rendering traces from telemetry's search API: a tree of spans, a table of recent traces."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

__all__ = ["WIDE", "span_label", "trace_list", "trace_tree", "traces_table"]

Json = dict[str, Any]
ORDER_ID = "souk.order_id"
_STATUS_STYLES = {"error": "bold red", "ok": "green", "unset": "dim"}
WIDE = 160  # columns the table of recent traces needs for its every column (else: trace_list)


def _ms(value: float) -> str:
    return f"{value:,.1f} ms" if value < 10_000 else f"{value / 1000:,.2f} s"


def _when(ns: int) -> str:
    local = datetime.fromtimestamp(ns / 1e9, UTC).astimezone()
    return f"{local:%Y-%m-%d %H:%M:%S}.{local.microsecond // 1000:03d}"


def span_label(span: Json, trace_start_ns: int) -> Text:
    """``+offset  service  name  kind  duration  status  order=…`` for one span."""
    offset = (int(span["start_ns"]) - trace_start_ns) / 1e6
    status = str(span.get("status", "unset"))
    label = Text.assemble((f"+{offset:,.1f} ms ", "dim"), (str(span["service"]), "cyan"), " ",
                          (str(span["name"]), "bold"), " ", (str(span.get("kind", "")), "magenta"),
                          " ", _ms(float(span["duration_ms"])), " ",
                          (status, _STATUS_STYLES.get(status, "")))
    if message := span.get("status_message"):
        label.append(f" ({message})", "red")
    if (order_id := (span.get("attributes") or {}).get(ORDER_ID)) is not None:
        label.append(f" order={order_id}", "yellow")
    return label


def _add(branch: Tree, node: Json, start_ns: int) -> None:
    child = branch.add(span_label(node, start_ns))
    for grandchild in node.get("children", []):
        _add(child, grandchild, start_ns)


def trace_tree(detail: Json) -> Tree:
    """The trace as a rich Tree: a heading with the summary, then every span under its parent."""
    summary = detail["summary"]
    services = ", ".join(summary.get("services", []))
    heading = Text.assemble(
        ("trace ", "bold"), (str(detail["trace_id"]), "bold"), "  ",
        _when(int(summary["start_ns"])), "  ", _ms(float(summary["duration_ms"])),
        f"  {summary['span_count']} spans  ", (services, "cyan"))
    if summary.get("error"):
        heading.append("  error", "bold red")
    if summary.get("order_id"):
        heading.append(f"  order={summary['order_id']}", "yellow")
    if not summary.get("has_root", True):
        heading.append("  (root span not received yet)", "dim")
    tree = Tree(heading, guide_style="dim")
    for root in detail.get("tree", []):
        _add(tree, root, int(summary["start_ns"]))
    return tree


def trace_list(items: list[Json], *, today: datetime | None = None) -> Group:
    """Recent traces, newest first, for a terminal narrower than :data:`WIDE` (80 columns): a
    trace on two lines, its start (the time alone when it is today's, else with month and day),
    id, duration, span count and status, then, indented, its root span and order; the whole id
    on the first line, to copy."""
    day = f"{today or datetime.now(UTC).astimezone():%Y-%m-%d} "
    starts = []
    for item in items:
        when = _when(int(item["start_ns"]))
        # today's: the time alone; another day's without the year (kept traces are recent)
        starts.append(when.removeprefix(day) if when.startswith(day) else when[5:])
    durations = [_ms(float(item["duration_ms"])) for item in items]
    start_w = max(len(start) for start in [*starts, "started"])
    duration_w = max(len(duration) for duration in [*durations, "duration"])
    lines = [Text(f"{'started':<{start_w}}  {'trace id':<32}  {'duration':>{duration_w}}  "
                  "spans  status", style="bold")]
    for item, start, duration in zip(items, starts, durations, strict=True):
        status = "error" if item.get("error") else "ok"
        lines.append(Text.assemble(
            f"{start:<{start_w}}  {item['trace_id']}  {duration:>{duration_w}}  "
            f"{item['span_count']:>5}  ", (status, _STATUS_STYLES[status])))
        second = Text("    ")
        second.append(f"{item['root_service']}: {item['root_name']}")
        if item.get("order_id"):
            second.append(f"  order {item['order_id']}", "yellow")
        lines.append(second)
    return Group(*lines)


def traces_table(items: list[Json]) -> Table:
    """Recent traces, newest first, a line each, every column (:data:`WIDE` columns or more)."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("started", no_wrap=True)
    table.add_column("trace id", no_wrap=True, min_width=32)  # whole: it is what one copies
    table.add_column("root", ratio=2)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("spans", justify="right", no_wrap=True)
    table.add_column("services", ratio=2)
    table.add_column("status", no_wrap=True)
    table.add_column("order", overflow="fold", ratio=1)
    for item in items:
        status = "error" if item.get("error") else "ok"
        table.add_row(
            _when(int(item["start_ns"])), str(item["trace_id"]),
            f"{escape(str(item['root_service']))}: {escape(str(item['root_name']))}",
            _ms(float(item["duration_ms"])), str(item["span_count"]),
            escape(", ".join(item.get("services", []))),
            Text(status, _STATUS_STYLES[status]), escape(str(item.get("order_id") or "")))
    return table
