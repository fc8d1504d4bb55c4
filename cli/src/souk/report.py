"""How the operator commands show their results: verify's checks, load's numbers, the DLQ."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # the modules behind them import aiohttp: only for the commands that run
    from chassis.invariants import Report
    from souk.dlq import DeadLetter, Replayed
    from souk.load import LoadProgress, LoadResult

__all__ = ["dead_letters_table", "load_line", "load_summary", "replayed_table", "summaries",
           "verify_report"]

STATUS_STYLE = {"pass": ("pass", "green"), "fail": ("FAIL", "bold red"), "skip": ("skipped", "yellow")}
SHOWN_VIOLATIONS = 50


def verify_report(report: Report) -> RenderableType:
    """The table of checks, the counts, then each violation (the first few when many)."""
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for column in ("check", "result", "what was seen", "violations"):
        table.add_column(column, justify="right" if column == "violations" else "left")
    for result in report.checks:
        label, style = STATUS_STYLE[result.status]
        table.add_row(Text(result.name), Text(label, style), Text(result.summary),
                      str(result.violations) if result.status == "fail" else "")
    parts: list[RenderableType] = [table, Text()]
    parts.append(Text("  ".join(f"{key} {value}" for key, value in report.counts.items()),
                      style="dim"))
    if report.violations:
        parts.append(Text())
        parts.append(Text(f"{len(report.violations)} violations:", style="bold red"))
        for violation in report.violations[:SHOWN_VIOLATIONS]:
            parts.append(Text.assemble(f"  {violation.check}  ", (violation.subject, "bold"),
                                       f"  {violation.detail}"))
        if len(report.violations) > SHOWN_VIOLATIONS:
            parts.append(Text(f"  … and {len(report.violations) - SHOWN_VIOLATIONS} more "
                              "(--json lists them all)", style="dim"))
        if not report.settled:
            counts = report.counts
            parts.append(Text(
                f"\nThe platform was not at rest when read ({counts.get('not_terminal', 0)} "
                f"orders not terminal, {counts.get('outbox_pending', 0)} outbox rows pending, "
                f"{report.backlog} messages not yet consumed): some of these may be checkouts in "
                "flight. Verify once the load has stopped, or with --wait SECONDS.",
                style="yellow"))
    else:
        parts.append(Text("\nevery invariant holds", style="bold green"))
    return Group(*parts)


def load_line(progress: LoadProgress) -> str:
    """The live progress of ``souk load``."""
    return (f"{progress.done}/{progress.total} done  [green]{progress.confirmed} confirmed[/]  "
            f"[yellow]{progress.cancelled} cancelled[/]  [red]{progress.failed} failed[/]  "
            f"{progress.retried} retried  "
            f"{progress.per_second:.0f}/s")


def load_summary(result: LoadResult) -> RenderableType:
    table = Table(show_header=False, show_edge=False, pad_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [("checkouts", str(result.checkouts)), ("confirmed", str(result.confirmed)),
            ("cancelled", str(result.cancelled)), ("failed", str(result.failed)),
            # retried counts checkouts that then ended; the requests sent again are all of them,
            # a failed checkout's included ("retried 0 checkouts (72 …)" read as a contradiction)
            ("retried", f"{result.retried} ended checkouts ({result.retries} requests sent "
                        "again in all)"),
            ("throughput", f"{result.per_second:.1f} checkouts/s over {result.elapsed_s:.1f} s")]
    rows += [(f"latency p{p}", f"{result.latency(p):.1f} ms") for p in (50, 95, 99)]
    for label, value in rows:
        table.add_row(label, value)
    parts: list[RenderableType] = [table]
    if result.errors:
        parts.append(Text(f"\nfirst {len(result.errors)} failures:", style="bold red"))
        parts.extend(Text(f"  {error}") for error in result.errors)
    return Group(*parts)


def dead_letters_table(letters: Iterable[DeadLetter]) -> Table:
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for column in ("seq", "consumer", "type", "msg id", "deliveries", "error", "time"):
        # folded, never cut: an id or an error is read (or copied) whole on any terminal
        table.add_column(column, justify="right" if column in ("seq", "deliveries") else "left",
                         overflow="fold", no_wrap=column in ("seq", "deliveries"))
    for letter in letters:
        table.add_row(str(letter.seq), letter.consumer, letter.type, letter.msg_id,
                      str(letter.deliveries or "-"), Text(letter.error, "red"),
                      letter.time.isoformat(timespec="seconds") if letter.time else "-")
    return table


def replayed_table(replayed: Iterable[Replayed]) -> Table:
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for column in ("dlq seq", "to subject", "Souk-Msg-Id", "Nats-Msg-Id", "stream seq"):
        table.add_column(column, justify="right" if "seq" in column else "left", overflow="fold")
    for item in replayed:
        seq = f"{item.stream_seq} (duplicate)" if item.duplicate else str(item.stream_seq)
        table.add_row(str(item.seq), item.subject, item.msg_id, item.nats_msg_id, seq)
    return table


def summaries(before: Any, after: Any, replayed: Any) -> RenderableType:
    """Both analytics summaries side by side, and the verdict."""
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("summary before replay")
    table.add_column(f"after replaying {replayed} events")
    dump = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    table.add_row(orjson.dumps(before, option=dump).decode(),
                  orjson.dumps(after, option=dump).decode())
    verdict = (Text("identical: the read models rebuild exactly from the events", "bold green")
               if before == after else Text("DIFFERENT: the rebuilt read models disagree",
                                            "bold red"))
    return Group(table, Text(), verdict)
