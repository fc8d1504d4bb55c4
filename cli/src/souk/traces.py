"""``souk trace`` and ``souk traces``: read the telemetry service's trace store as the demo admin.

Calls go straight to the telemetry instance from the state file (telemetry is not routed by the
gateway), with the demo admin's token, like ``souk verify``.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
import typer

from souk.console import CANNOT_ACT, HomeOption, fail, out, running_state
from souk.control import ControlError
from souk.home import Home
from souk.operate import _admin_login
from souk.topology import TELEMETRY
from souk.trace_view import WIDE, trace_list, trace_tree, traces_table

__all__ = ["register"]

_TRACE_ID = re.compile(r"^[0-9a-fA-F]{32}$")
MAX_LIMIT = 200
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON only")]


def register(app: typer.Typer) -> None:
    """Add ``trace`` and ``traces`` to ``app``."""
    app.command("trace")(trace)
    app.command("traces")(list_traces)


def _print_json(data: object) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _query(home: Home, paths: list[str], *, then_traces: bool = False,
           missing: str = "") -> list[Any]:
    """GET each path from telemetry; with ``then_traces``, the first answer is a search page and
    every trace in it is fetched too. ``missing``: what to say when telemetry answers 404."""
    from souk.admin import AdminClient, FetchError

    state = running_state(home)
    if not (state.desired.get(TELEMETRY, 0) > 0 or state.of_service(TELEMETRY)):
        raise fail("this platform runs no telemetry service; add [services.telemetry] to the "
                   "topology (souk.toml) and restart it", CANNOT_ACT)
    log_in = _admin_login(home, state)

    async def run() -> list[Any]:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            client = AdminClient(session, state, log_in)
            answers = [await client.request(TELEMETRY, "GET", path) for path in paths]
            if then_traces:
                page = answers[0]
                items = page.get("items", []) if isinstance(page, dict) else []
                ids = [item["trace_id"] for item in reversed(items)]  # oldest first
                answers = list(await asyncio.gather(*(
                    client.request(TELEMETRY, "GET", f"/v1/traces/{trace_id}") for trace_id in ids)))
            return answers

    try:
        return asyncio.run(run())
    except FetchError as exc:
        if exc.status == 404 and missing:
            raise fail(missing, 1) from None
        raise fail(f"telemetry did not answer: {exc}", CANNOT_ACT) from None
    except ControlError as exc:
        raise fail(f"telemetry did not answer: {exc}", CANNOT_ACT) from None


# what a missing trace may mean, for a trace id and an order alike
_KEPT = ("The trace store keeps every failed, cancelled or slow checkout and a share of the others "
         "(trace_keep_ratio, a tenth as shipped), a few seconds after its last span, until pruned. "
         "`souk traces` lists the kept ones; `souk config set trace_keep_ratio 1` keeps every "
         "trace from now on.")


def trace(trace_id: Annotated[str | None, typer.Argument(
              metavar="[TRACE_ID]", help="32 hexadecimal digits", show_default=False)] = None,
          order: Annotated[str | None, typer.Option(
              "--order", metavar="ORDER_ID", help="show the trace(s) of this order instead",
              show_default=False)] = None,
          home: HomeOption = None, json: JsonOption = False) -> None:
    """Print one trace as a tree of spans (service, name, kind, duration, status, order id,
    offset from the trace start)."""
    if (trace_id is None) == (order is None):
        raise fail("give a TRACE_ID, or --order ORDER_ID (not both)", 2)
    where = Home.resolve(home)
    if trace_id is not None:
        if not _TRACE_ID.match(trace_id.strip()):
            raise fail(f"{trace_id!r} is not a trace id (32 hexadecimal digits)", 2)
        wanted = trace_id.strip().lower()
        details = _query(where, [f"/v1/traces/{wanted}"], missing=f"no trace {wanted}. {_KEPT}")
    else:
        details = _query(where, ["/v1/traces?" + urlencode({"order_id": order, "limit": 20})],
                         then_traces=True)
        if not details:
            raise fail(f"no trace of order {order}. {_KEPT}", 1)
    if json:
        _print_json(details[0] if trace_id is not None else details)
        return
    for index, detail in enumerate(details):
        if index:
            out.print()
        out.print(trace_tree(detail), soft_wrap=False)  # deep trees wrap rather than lose text


def list_traces(service: Annotated[str | None, typer.Option(
                    help="traces with a span of this service", show_default=False)] = None,
                operation: Annotated[str | None, typer.Option(
                    help="traces with a span of this name", show_default=False)] = None,
                errors: Annotated[bool, typer.Option("--errors", help=(
                    "failed traces only: an error span or a 5xx (a declined or cancelled "
                    "checkout is no failure: `souk trace --order ID` finds it)"))] = False,
                min_ms: Annotated[float | None, typer.Option(
                    "--min-ms", min=0, help="at least this long", show_default=False)] = None,
                limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT)] = 20,
                home: HomeOption = None, json: JsonOption = False) -> None:
    """List recent traces, newest first."""
    params: dict[str, Any] = {"limit": limit}
    for key, value in (("service", service), ("operation", operation),
                       ("min_duration_ms", min_ms), ("status", "error" if errors else None)):
        if value is not None:
            params[key] = value
    [page] = _query(Home.resolve(home), ["/v1/traces?" + urlencode(params)])
    items = page.get("items", []) if isinstance(page, dict) else []
    if json:
        _print_json(items)
        return
    if not items:
        out.print("no trace matches" if len(params) > 1 else "no trace received yet")
        return
    out.print(traces_table(items) if out.width >= WIDE else trace_list(items))
