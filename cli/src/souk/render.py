"""How the CLI shows the platform: the status table, the URLs, start-up progress."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from souk.home import Home
from souk.postgres import read_record, redact
from souk.state import State

__all__ = ["progress_line", "status_rows", "status_table", "summary"]


def status_rows(state: State, ready: list[bool] | None = None,
                degraded: list[tuple[str, ...]] | None = None) -> list[dict[str, Any]]:
    """One plain dict per process (what ``status --json`` prints); ``ready`` overrides the
    state's readiness with live probe results, ``degraded`` names the optional checks each
    ready instance reports failing."""
    rows = []
    for index, proc in enumerate(state.processes):
        rows.append({
            "service": proc.service, "instance": proc.instance,
            # an exited process's last pid may be another process's by now: none is given
            "pid": None if proc.status in _EXITED else proc.pid,
            "port": proc.port, "url": proc.url,
            "ready": ready[index] if ready is not None else proc.ready,
            "degraded": list(degraded[index]) if degraded is not None else [],
            "restarts": proc.restarts, "status": proc.status, "held": proc.held,
            "started_at": proc.started_at,
            "log": proc.log,
        })
    return rows


# the statuses of an instance whose process has exited (restarting later, held, or stopped):
# its last pid is no process any more
_EXITED = frozenset({"backoff", "held", "stopped"})


def status_table(rows: list[dict[str, Any]]) -> Table:
    """The rich table of ``souk status`` and ``souk up``: an instance a row (its name says its
    service; no pid once its process has exited), the URL whole even on an 80-column terminal
    (the other columns give way)."""
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("instance")
    table.add_column("pid", justify="right")
    table.add_column("url", no_wrap=True, min_width=max((len(r["url"] or "") for r in rows),
                                                         default=3))
    table.add_column("ready")
    table.add_column("restarts", justify="right")
    for row in rows:
        ready = (Text("yes", "green") if row["ready"] and not row.get("degraded") else
                 Text(f"degraded: no {', '.join(row['degraded'])}", "yellow") if row["ready"]
                 else Text(row["status"], "yellow"))
        pid = "-" if row["status"] in _EXITED or not row["pid"] else str(row["pid"])
        table.add_row(row["instance"], pid, row["url"] or "-", ready, str(row["restarts"]))
    return table


def summary(state: State, home: Home) -> RenderableType:
    """Where to go next: gateway, registry, nats, PostgreSQL, logs."""
    lines = []
    if state.gateway_url:
        example = "/api/v1/catalog/products" if "catalog" in state.desired else ""
        lines.append(Text.assemble(("gateway   ", "bold"), f"{state.gateway_url}{example}"))
    if state.registry_url:
        lines.append(Text.assemble(("registry  ", "bold"), state.registry_url))
    lines.append(Text.assemble(("nats      ", "bold"), state.nats_url))
    if (record := read_record(home)) is not None:
        lines.append(Text.assemble(("postgres  ", "bold"), f"{redact(record[0])}, "
                                   f"{len(record[1])} databases (souk down --purge drops them)"))
    lines.append(Text.assemble(("logs      ", "bold"), f"{home.logs}  (souk logs -f)"))
    return Group(*lines)


def progress_line(state: State | None) -> str:
    """``3/5 ready, waiting for catalog-1`` while the platform comes up."""
    if state is None:
        return "starting the supervisor…"
    ready = [proc for proc in state.processes if proc.ready]
    waiting = [proc.instance for proc in state.processes if not proc.ready]
    line = f"{len(ready)}/{len(state.processes)} ready"
    return f"{line}, waiting for {', '.join(waiting[:3])}" if waiting else line
