"""The operator commands: verify, load, dlq list/replay, replay analytics."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.progress import Progress, TextColumn

from souk import identity_client, report
from souk.console import CANNOT_ACT, HomeOption, command_group, err, fail, out, running_state
from souk.control import ControlError
from souk.credentials import read_demo_users
from souk.home import Home
from souk.state import State

__all__ = ["register"]

dlq_app = command_group("The dead-letter stream SOUK_DLQ.")
replay_app = command_group("Rebuild read models from the stored events.")
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON only")]


def register(app: typer.Typer) -> None:
    """Add the operator commands to ``app``."""
    app.command()(verify)
    app.command()(load)
    app.add_typer(dlq_app, name="dlq")
    app.add_typer(replay_app, name="replay")


def _admin_login(home: Home, state: State) -> Callable[[], Awaitable[str]]:
    """Logs the demo admin in straight at identity (the gateway limits log-ins)."""
    users = read_demo_users(home)
    if users is None:
        raise fail(f"no demo admin in {home.demo_users_file}", CANNOT_ACT)
    url = identity_client.identity_url(state)
    if url is None:
        raise fail(identity_client.no_identity(state), CANNOT_ACT)

    async def log_in() -> str:
        return await asyncio.to_thread(identity_client.log_in, url, users.admin)

    return log_in


def _print_json(data: object) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def verify(home: HomeOption = None, json: JsonOption = False,
           wait: Annotated[float, typer.Option(
               "--wait", metavar="SECONDS", min=0,
               help="first wait up to this long for every order to be terminal and every outbox "
                    "drained")] = 0) -> None:
    """Check every invariant through the services' admin APIs; exit 1 on any violation.

    Exit 2 when the platform could not be read. Checks of services not in the topology: skipped.
    """
    from chassis.invariants import check
    from souk.admin import AdminClient, FetchError, take_snapshot, wait_until_settled
    from souk.dlq import DlqError

    where = Home.resolve(home)
    state = running_state(where)
    log_in = _admin_login(where, state)

    def show(note: str) -> None:
        err.print(f"[dim]waiting:[/] {escape(note)}")

    async def run() -> Any:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            client = AdminClient(session, state, log_in)
            if wait > 0:
                await wait_until_settled(client, wait, show)
            return check(await take_snapshot(client, state.nats_url))

    try:
        result = asyncio.run(run())
    except (FetchError, DlqError, ControlError) as exc:
        raise fail(f"could not verify: {exc}", CANNOT_ACT) from None
    if json:
        _print_json(result.as_json())
    else:
        out.print(report.verify_report(result))
    if not result.ok:
        raise typer.Exit(1)


def load(home: HomeOption = None,
         checkouts: Annotated[int, typer.Option(min=1, help="checkouts to start")] = 100,
         concurrency: Annotated[int, typer.Option(
             min=1, max=10_000, help="users checking out at once (one worker each)")] = 10,
         decline_rate: Annotated[float, typer.Option(
             min=0.0, max=1.0, help="share of checkouts paid with a declined card")] = 0.1,
         lines: Annotated[int, typer.Option(min=1, max=20, help="cart lines per checkout")] = 1,
         json: JsonOption = False) -> None:
    """Run checkouts through the gateway as new users; print throughput and latency. Exit 1
    when a checkout failed, 2 when the load could not start."""
    from souk.load import LoadError, LoadProgress, run_load

    where = Home.resolve(home)
    state = running_state(where)
    identity = identity_client.identity_url(state)
    if state.gateway_url is None:
        raise fail("load needs a running gateway (souk status)", CANNOT_ACT)
    if identity is None:
        raise fail(f"load needs identity to sign its users up: "
                   f"{identity_client.no_identity(state)}", CANNOT_ACT)
    progress_bar = Progress(TextColumn("{task.description}"), console=err, transient=True,
                            disable=json)
    task = progress_bar.add_task("creating users…", total=checkouts)

    last = LoadProgress(total=checkouts)

    def show(state_: LoadProgress) -> None:
        nonlocal last
        last = state_
        progress_bar.update(task, completed=state_.done, description=report.load_line(state_))

    try:
        with progress_bar:
            result = asyncio.run(run_load(state.gateway_url, identity, checkouts, concurrency,
                                          decline_rate, lines, progress=show))
    except LoadError as exc:
        raise fail(f"load could not start: {exc}", CANNOT_ACT) from None
    except KeyboardInterrupt:
        raise fail(f"interrupted after {last.done} of {last.total} checkouts ({last.confirmed} "
                   f"confirmed, {last.cancelled} cancelled, {last.failed} failed); those "
                   "already placed finish on their own: souk verify --wait 30 checks them",
                   130) from None
    if json:
        _print_json(result.as_json())
    else:
        out.print(report.load_summary(result))
    if result.failed:  # a script (CI, a chaos run) must not read a failed load as a good one
        raise fail(f"{result.failed} of {result.checkouts} checkouts failed", 1)


@dlq_app.command("list")
def dlq_list(home: HomeOption = None, json: JsonOption = False) -> None:
    """Every dead letter: stream seq, consumer, type, message id, deliveries, error, time."""
    from souk.dlq import DlqError, list_dead_letters  # the broker's client: only when asked

    state = running_state(Home.resolve(home))
    try:
        letters = asyncio.run(list_dead_letters(state.nats_url))
    except DlqError as exc:
        raise fail(str(exc)) from None
    if json:
        _print_json([letter.as_json() for letter in letters])
    elif not letters:
        out.print("SOUK_DLQ holds no dead letters.")
    else:
        out.print(report.dead_letters_table(letters))


@dlq_app.command("replay")
def dlq_replay(seqs: Annotated[list[int] | None, typer.Argument(
                   metavar="SEQ", help="stream sequence numbers (from souk dlq list)",
                   show_default=False)] = None,
               all_: Annotated[bool, typer.Option("--all", help="replay every dead letter")] = False,
               home: HomeOption = None) -> None:
    """Republish dead letters to their original subject (they stay in the DLQ)."""
    from souk.dlq import DlqError, replay  # the broker's client: only when asked

    if bool(seqs) == all_:
        raise fail("give the SEQ numbers to replay, or --all (not both)", 2)
    state = running_state(Home.resolve(home))
    try:
        done = asyncio.run(replay(state.nats_url, None if all_ else seqs))
    except DlqError as exc:
        raise fail(str(exc)) from None
    if not done:
        out.print("SOUK_DLQ holds no dead letters; nothing replayed.")
        return
    out.print(report.replayed_table(done))
    out.print(f"replayed {len(done)} dead letter{'s' if len(done) != 1 else ''}; "
              "they stay in SOUK_DLQ")


@replay_app.command("analytics")
def replay_analytics(home: HomeOption = None) -> None:
    """Rebuild analytics from every stored orders event; exit 1 if its summary changes."""
    from souk.admin import AdminClient, FetchError

    where = Home.resolve(home)
    state = running_state(where)
    log_in = _admin_login(where, state)

    async def run() -> tuple[Any, Any]:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            client = AdminClient(session, state, log_in)
            if not client.runs("analytics"):
                raise FetchError("analytics is not in the topology")
            before = await client.request("analytics", "GET", "/v1/analytics/summary")
            return before, await client.request("analytics", "POST", "/v1/admin/replay")

    try:
        before, rebuilt = asyncio.run(run())
    except (FetchError, ControlError) as exc:
        raise fail(f"could not replay: {exc}", CANNOT_ACT) from None
    if not isinstance(rebuilt, dict) or "summary" not in rebuilt:
        raise fail("analytics answered the replay without a summary", CANNOT_ACT)
    out.print(report.summaries(before, rebuilt["summary"], rebuilt.get("replayed", "?")))
    if before != rebuilt["summary"]:
        raise typer.Exit(1)
