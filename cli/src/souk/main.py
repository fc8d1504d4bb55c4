"""The ``souk`` command: up, down, status, logs, scale, keys rotate; the operator commands
(verify, load, dlq, replay) are in ``souk.operate``, trace and traces in ``souk.traces``, config in
``souk.config_cmd``."""

from __future__ import annotations

import dataclasses
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from souk import control, faults, identity_client, operate, render, traces
from souk.chaos import command as chaos_command
from souk.config_cmd import config_app
from souk.console import HomeOption, command_group, err, out, running_state
from souk.console import fail as _fail
from souk.control import ControlError
from souk.credentials import (
    DemoUsers,
    ensure_demo_users,
    ensure_service_secrets,
    mark_customer_signed_up,
    read_demo_users,
)
from souk.home import Home
from souk.logs import (
    TRACEBACK_FIELDS,
    follow,
    format_line,
    only_trace,
    parse_line,
    recent,
    tail_lines,
    traced,
)
from souk.postgres import (
    POSTGRES_ENV,
    PostgresError,
    drop_databases,
    read_record,
    record_file,
    redact,
)
from souk.state import State, read_state
from souk.topology import IDENTITY, Topology, TopologyError, find_topology, load_topology

__all__ = ["app"]

app = command_group("Run the Souk platform on this machine.", add_completion=False,
                  pretty_exceptions_enable=False)
keys_app = command_group("Identity's token-signing keys.")
app.add_typer(keys_app, name="keys")
TAIL_ON_FAILURE = 20


def _probed_rows(state: State) -> list[dict[str, object]]:
    """The status rows with live readiness, and what each ready instance reports failing."""
    from souk.probes import probe_readiness

    probed = probe_readiness([proc.ready_url for proc in state.processes], 1.0)
    return render.status_rows(state, [ready for ready, _ in probed],
                              [failing for _, failing in probed])


def _show_status(state: State, home: Home) -> list[dict[str, object]]:
    rows = _probed_rows(state)
    out.print(render.status_table(rows))
    out.print()
    out.print(render.summary(state, home))
    return rows


def _explain(error: ControlError, since: datetime | None = None) -> None:
    """What failed, then the last lines of its log as ``souk logs`` shows them: one line each,
    and the traceback of the last that has one (a process restarted in a loop logs the same
    one each time; a wall of JSON hid the one line that says why). ``since``: when this start
    began; lines of earlier runs (a log is appended to) are not shown as this one's."""
    err.print(f"[bold red]start-up failed:[/] {escape(str(error))}")
    if " not ready after " in str(error):
        err.print("[dim](on a slow or busy machine, give it longer: souk up --timeout N)[/]")
    if error.log and Path(error.log).is_file():
        path = Path(error.log)
        lines = [parse_line(path.stem, raw) for raw in tail_lines(path, TAIL_ON_FAILURE)]
        if since is not None:
            lines = [line for line in lines if line.ts is None or line.ts >= since]
            if not lines:
                err.print(f"[dim]{escape(path.stem)} logged nothing since this start (souk logs "
                          f"{escape(path.stem)} shows earlier runs)[/]")
                return
        err.print(f"[dim]last lines of {escape(error.log)} (souk logs {escape(path.stem)} for "
                  "more):[/]")
        failed = [n for n, line in enumerate(lines)
                  if any(key in line.fields for key in TRACEBACK_FIELDS)]
        for n, line in enumerate(lines):
            if failed and n != failed[-1]:
                line = dataclasses.replace(line, fields={
                    key: value for key, value in line.fields.items() if key not in TRACEBACK_FIELDS})
            err.print(format_line(line, len(path.stem)), soft_wrap=True)


@app.command()
def up(home: HomeOption = None,
       topology: Annotated[Path | None, typer.Option(
           help="topology file [default: souk.toml here or in a parent folder]",
           show_default=False)] = None,
       gateway_port: Annotated[int | None, typer.Option(
           help="public port of the gateway (0 = a free one)", show_default=False)] = None,
       timeout: Annotated[float, typer.Option(
           min=0, help="seconds to wait for all to be ready")] = 60,
       postgres: Annotated[str | None, typer.Option(
           envvar=POSTGRES_ENV, metavar="URL",
           help="a PostgreSQL server (postgresql://user[:password]@host[:port]/postgres): every "
                "service with a database gets its own there, created if missing (default: the "
                "topology's platform.postgres, else SQLite files in the home)",
           show_default=False)] = None,
       ) -> None:
    """Start nats, the registry, every service and the gateway; return once all are ready."""
    where = Home.resolve(home)
    try:
        path = topology or find_topology(Path.cwd())
        spec = load_topology(path)
        if gateway_port is not None:
            spec = spec.with_gateway_port(gateway_port)
        if postgres:
            spec = spec.with_postgres(postgres)
    except TopologyError as exc:
        raise _fail(str(exc), 2) from None
    try:
        with control.starting(where, timeout + 30, lambda: err.print(
                f"another souk up is starting {where.root}; waiting for it")):
            _start(where, path, spec, gateway_port, timeout, postgres)
    except ControlError as exc:
        raise _fail(str(exc)) from None


def _start(where: Home, path: Path, spec: Topology, gateway_port: int | None, timeout: float,
           postgres: str | None) -> None:
    """``souk up`` once it holds the home's start lock."""
    if (pid := control.running_pid(where)) is not None:
        out.print(f"Souk is already running (supervisor pid {pid}, home {where.root}).")
        given = [option for option, value in (("--gateway-port", gateway_port),
                                              ("--postgres", postgres)) if value is not None]
        if given:  # they apply to a start, and this one started nothing
            err.print(f"{' and '.join(given)} not applied: it runs as it was started; "
                      f"souk down, then souk up with {'them' if len(given) > 1 else 'it'}")
        if (state := read_state(where.state_file)) is not None:
            _show_status(state, where)
        return
    for instance, port in spec.fixed_ports().items():
        if control.port_in_use(spec.platform.host, port):
            hint = ("pass --gateway-port 0 to pick a free port" if instance.startswith("gateway-")
                    else f"change or remove the fixed port of {instance.rsplit('-', 1)[0]} in "
                         f"{path}")
            raise _fail(f"{instance} needs {spec.platform.host}:{port}, which is already in use"
                        f" (another souk? {hint})")
    ensure_service_secrets(where, spec.services)
    demo_users = ensure_demo_users(where)[0] if IDENTITY in spec.services else None
    began, since = time.monotonic(), datetime.now(UTC) - timedelta(seconds=1)
    pid = control.start_supervisor(where, path, gateway_port=gateway_port, timeout=timeout,
                                   postgres=postgres or None)
    try:
        with out.status("starting…") as status:
            state = control.wait_up(where, pid, timeout + 10,
                                    lambda s: status.update(render.progress_line(s)))
    except ControlError as exc:
        _explain(exc, since)
        control.stop_platform(where, 10)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted; stopping")
        control.stop_platform(where, 10)
        raise typer.Exit(130) from None
    out.print(render.status_table(render.status_rows(state)))
    out.print()
    out.print(render.summary(state, where))
    if demo_users is not None:
        _welcome_demo_users(state, where, demo_users)
    out.print(f"\n[green]Souk is up[/] in {time.monotonic() - began:.1f} s "
              f"(supervisor pid {pid}); stop it with [bold]souk down[/].")


def _welcome_demo_users(state: State, home: Home, users: DemoUsers) -> None:
    """Make sure the demo customer can log in, and show both passwords on the first successful
    ``up`` only; later runs say where they are kept. The sign-up is asked for at every ``up``
    (identity answers 409 when the account exists): identity's database may be new while the
    home's file is not — ``souk down --purge``, or ``up --postgres`` after SQLite — and the
    admin is created by identity itself but the customer only here."""
    first_time = not users.customer_signed_up
    url = identity_client.identity_url(state)
    created = False
    if url is not None:
        try:
            created = identity_client.sign_up(url, users.customer)
            if first_time:
                users = mark_customer_signed_up(home, users)
        except ControlError as exc:
            err.print(f"[yellow]warning:[/] demo customer not signed up: {escape(str(exc))}")
    if first_time:
        out.print()
        out.print("[bold]Demo users[/] (shown this once; kept in "
                  f"{escape(str(home.demo_users_file))}):")
        for label, user in (("admin", users.admin), ("customer", users.customer)):
            out.print(f"  {label:<9} {user.email}  password {user.password}", markup=False)
    else:
        again = " (the customer signed up again: identity's database was new)" if created else ""
        out.print(f"[bold]demo users[/] {escape(str(home.demo_users_file))}{again}")


@app.command()
def down(home: HomeOption = None,
         timeout: Annotated[float, typer.Option(
             min=0, help="seconds each process gets to exit after SIGTERM")] = 10,
         purge: Annotated[bool, typer.Option(
             "--purge", help="then drop this home's PostgreSQL databases (souk up --postgres); "
                             "SQLite files and the broker's store stay in the home folder")] = False,
         ) -> None:
    """Stop everything (gateway, services, registry, nats) and leave no process behind; the
    data stays (in the home, and on PostgreSQL unless --purge)."""
    where = Home.resolve(home)
    pid = control.running_pid(where)
    with out.status("stopping…"):
        report = control.stop_platform(where, timeout)
    if pid is None and not report.killed:
        out.print(f"Souk is not running (home {where.root}).")
    else:
        _report_stopped(report)
    if purge:
        _purge_postgres(where)


def _purge_postgres(home: Home) -> None:
    import asyncio

    record = read_record(home)
    if record is None:
        out.print(f"no PostgreSQL databases recorded for home {home.root}")
        return
    server, databases = record
    try:
        dropped = asyncio.run(drop_databases(server, sorted(databases.values())))
    except PostgresError as exc:
        raise _fail(str(exc)) from None
    record_file(home).unlink(missing_ok=True)
    for name in dropped:
        out.print(f"dropped database {name} on {redact(server)}", markup=False)
    if not dropped:
        out.print(f"no database of home {home.root} left on {redact(server)}", markup=False)


def _report_stopped(report: control.StopReport) -> None:
    for label in report.stopped:
        out.print(f"stopped {label}")
    for label in report.killed:
        out.print(f"[yellow]killed[/] {label}")
    if report.supervisor is not None:
        out.print(f"stopped supervisor (pid {report.supervisor})")


@app.command()
def status(home: HomeOption = None,
           json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Show every process with its live readiness; exit 1 when souk is not running."""
    where = Home.resolve(home)
    state = read_state(where.state_file)
    if control.running_pid(where) is None or state is None:
        if json:
            out.print("[]", markup=False)
        else:
            out.print(f"Souk is not running (home {where.root}).")
        raise typer.Exit(1)
    if json:
        rows = _probed_rows(state)
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    _show_status(state, where)


@app.command()
def logs(service: Annotated[str | None, typer.Argument(
             help="a service (all its instances) or one instance, e.g. catalog or catalog-2",
             show_default=False)] = None,
         home: HomeOption = None,
         follow_: Annotated[bool, typer.Option("--follow", "-f", help="keep printing")] = False,
         lines: Annotated[int, typer.Option(
             "--lines", "-n", min=0, help="how many to show (0 with -f: only new ones)")] = 200,
         trace: Annotated[str | None, typer.Option(
             "--trace", metavar="TRACE_ID",
             help="only the lines logged inside this trace (every file searched whole)",
             show_default=False)] = None,
         ) -> None:
    """Print the processes' logs merged in time order."""
    where = Home.resolve(home)
    if trace is not None and not re.fullmatch(r"[0-9a-fA-F]{32}", trace.strip()):
        raise _fail(f"{trace!r} is not a trace id (32 hexadecimal digits)", 2)
    if trace is None:
        shown, cursors = recent(where.logs, service, lines)
    else:
        shown, cursors = traced(where.logs, service, trace, lines)
    if not cursors:
        raise _fail(f"no logs for {service or 'any process'} in {where.logs}")
    width = max(len(cursor.instance) for cursor in cursors)
    for line in shown:
        out.print(format_line(line, width), soft_wrap=True)
    if trace is not None and not shown:
        err.print(f"no log line of {service or 'any process'} has trace_id {escape(trace)}")
        if not follow_:
            raise typer.Exit(1)
    if not follow_:
        return
    batches = follow(where.logs, service, cursors)
    try:
        for batch in batches if trace is None else only_trace(batches, trace):
            for line in batch:
                out.print(format_line(line, width), soft_wrap=True)
    except KeyboardInterrupt:
        return


@app.command()
def scale(counts: Annotated[list[str], typer.Argument(
              help="SERVICE=N, one or more", metavar="SERVICE=N...", show_default=False)],
          home: HomeOption = None,
          timeout: Annotated[float, typer.Option(
              min=0, help="seconds to wait for the change")] = 60,
          ) -> None:
    """Change how many instances of running services run, leaving the others untouched."""
    where = Home.resolve(home)
    try:
        wanted = control.parse_scale(counts)
    except ControlError as exc:
        raise _fail(str(exc), 2) from None
    state = running_state(where)
    if not wanted:
        out.print("Nothing to change.")
        return
    try:
        control.check_services(state, wanted)
    except ControlError as exc:  # a service the topology has not: a refused argument
        raise _fail(str(exc), 2) from None
    try:
        control.request_scale(where, state, wanted)
        with out.status("scaling…") as progress:
            state = control.wait_scaled(where, wanted, timeout,
                                        lambda s: progress.update(render.progress_line(s)))
    except ControlError as exc:
        raise _fail(str(exc)) from None
    _show_status(state, where)


def _hold(instances: list[str], home: Path | None, *, held: bool) -> None:
    where = Home.resolve(home)
    state = running_state(where)
    try:
        holds = control.request_hold(where, state, instances, held=held)
    except ControlError as exc:
        raise _fail(str(exc), 2) from None
    out.print(f"restarts held back: {', '.join(holds) or 'none'}")


InstancesArgument = Annotated[list[str], typer.Argument(
    help="instances, as souk status names them (e.g. nats-1, orders-1)", metavar="INSTANCE...",
    show_default=False)]


@app.command()
def hold(instances: InstancesArgument, home: HomeOption = None) -> None:
    """Do not restart these instances when they exit (kill one afterwards for an outage)."""
    _hold(instances, home, held=True)


@app.command()
def release(instances: InstancesArgument, home: HomeOption = None) -> None:
    """Restart these instances again when they exit, and at once if they are down (held)."""
    _hold(instances, home, held=False)


@keys_app.command("rotate")
def rotate_keys(home: HomeOption = None) -> None:
    """Sign new tokens with a new key; tokens signed before stay valid until they expire."""
    where = Home.resolve(home)
    state = running_state(where)
    url = identity_client.identity_url(state)
    if url is None:
        raise _fail(identity_client.no_identity(state))
    users = read_demo_users(where)
    if users is None:
        raise _fail(f"no demo admin in {where.demo_users_file}")
    try:
        kid = identity_client.rotate_keys(url, users.admin)
    except ControlError as exc:
        raise _fail(str(exc)) from None
    out.print(f"new signing key [bold]{escape(kid)}[/]; tokens signed with the previous key "
              "stay valid until they expire")


operate.register(app)
app.add_typer(config_app, name="config")
faults.register(app)
traces.register(app)
chaos_command.register(app)

if __name__ == "__main__":
    app()
