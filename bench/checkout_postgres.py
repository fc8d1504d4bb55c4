"""`bench/checkout.py --postgres-compare`: the checkout load on the SQLite default and on
PostgreSQL per service.

It runs the same load on the SQLite default and on PostgreSQL per service (`souk up --postgres`,
the server on this machine; URL from --postgres, else SOUK_TEST_POSTGRES_URL), one instance of
every service and tracing off in both, alternating platforms round by round. Besides each process's
CPU it counts, per checkout and per service, units of work, statements and round trips to
PostgreSQL (the chassis's ``souk_db_*_total`` counters; ``chassis.db.base.DbCounts`` says what a
round trip is), the transactions the server counted (``pg_stat_database``), and the CPU of the
PostgreSQL backends serving the platform's databases (the server's own background processes, WAL
writer and checkpointer, are not counted). ``--profile SERVICE`` records instance 1 of it with
py-spy during the PostgreSQL runs and prints the functions that hold most samples. ``--perf``
profiles the whole machine during the first round on each engine (bench/machine_profile.py), the
PostgreSQL backends named as one. ``--statements`` prints, per checkout, the server's time in each
statement of the platform's databases (``pg_stat_statements``: the server must preload it; the
extension is created in the database of the URL when missing). The server's ``autovacuum`` setting
is printed first: with it off, the planner never sees the tables grow, and a statement prepared in
the first seconds keeps the plan it got for a nearly empty table (docs/decisions.md 92).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _load import cpu_of, free_port, own_cpu, running_platform
from checkout import LOADGEN, topology

from souk.load import run_load

__all__ = ["postgres_compare"]

STATEFUL = ("registry", "identity", "catalog", "cart", "inventory", "orders", "payments",
            "notifications", "analytics", "web")


def _db_counts(status: list[dict[str, object]]) -> dict[str, tuple[float, float, float]]:
    """Service → (units of work, statements, round trips) so far, summed over its
    instances."""
    import urllib.request

    counts: dict[str, tuple[float, float, float]] = {}
    names = ("souk_db_transactions_total", "souk_db_statements_total", "souk_db_round_trips_total")
    for proc in status:
        if proc["service"] not in STATEFUL:
            continue
        with urllib.request.urlopen(f"{proc['url']}/metrics", timeout=10) as response:
            text = response.read().decode()
        found = {name: sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                           if line.startswith(name + "{"))
                 for name in names}
        so_far = counts.get(str(proc["service"]), (0.0, 0.0, 0.0))
        counts[str(proc["service"])] = (so_far[0] + found[names[0]], so_far[1] + found[names[1]],
                                        so_far[2] + found[names[2]])
    return counts


def _pg(server: str, sql: str, *args: object) -> list[dict[str, object]]:
    """One query on ``server``, from any thread (a fresh loop in a thread of its own)."""
    import threading

    import asyncpg

    from chassis.db.postgres import asyncpg_dsn

    rows: list[dict[str, object]] = []
    failed: list[BaseException] = []

    async def query() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(server))
        try:
            rows.extend(dict(row) for row in await conn.fetch(sql, *args))
        finally:
            await conn.close()

    def run() -> None:
        try:
            asyncio.run(query())
        except BaseException as exc:  # raised again in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return rows


def _pg_backends(server: str, prefix: str) -> dict[int, float]:
    """CPU seconds so far of each backend connected to a database named ``prefix_…``."""
    from _load import cpu_seconds

    cpu = {}
    for row in _pg(server, "SELECT pid FROM pg_stat_activity WHERE datname LIKE $1",
                   prefix + "\\_%"):
        with contextlib.suppress(OSError):  # gone meanwhile
            cpu[int(row["pid"])] = cpu_seconds(int(row["pid"]))  # type: ignore[call-overload]
    return cpu


def _pg_xacts(server: str, prefix: str) -> dict[str, float]:
    """Database → transactions committed and rolled back, as the server counts them."""
    return {str(row["datname"]).removeprefix(prefix + "_"): float(row["n"])  # type: ignore[arg-type]
            for row in _pg(server, "SELECT datname, xact_commit + xact_rollback AS n "
                           "FROM pg_stat_database WHERE datname LIKE $1", prefix + "\\_%")}


STATEMENTS = """SELECT d.datname, s.queryid, s.calls, s.total_exec_time, s.query
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname LIKE $1"""


def statements_available(server: str) -> str | None:
    """None where ``pg_stat_statements`` can be read on ``server`` (its extension created in the
    URL's database if missing), else why not."""
    try:
        if not _pg(server, "SELECT 1 FROM pg_settings WHERE name = 'shared_preload_libraries' "
                   "AND 'pg_stat_statements' = ANY(string_to_array(replace(setting, ' ', ''), ','))"):
            return "the server does not preload pg_stat_statements (shared_preload_libraries)"
        _pg(server, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        _pg(server, "SELECT 1 FROM pg_stat_statements LIMIT 1")
    except Exception as exc:  # whatever the server refuses is the reason printed
        return f"pg_stat_statements cannot be read: {exc}"
    return None


def _pg_statements(server: str, prefix: str) -> dict[tuple[str, int], tuple[float, float, str]]:
    """(service, query id) → (calls, milliseconds executing, text) so far, in the databases
    named ``prefix_…``."""
    return {(str(r["datname"]).removeprefix(prefix + "_"), int(r["queryid"])):  # type: ignore[call-overload]
            (float(r["calls"]), float(r["total_exec_time"]), str(r["query"]))  # type: ignore[arg-type]
            for r in _pg(server, STATEMENTS, prefix + "\\_%")}


def statements_report(before: dict[tuple[str, int], tuple[float, float, str]],
                      after: dict[tuple[str, int], tuple[float, float, str]], done: int,
                      top: int = 15) -> str:
    """The statements that took the server most time during the run, per checkout. The time is
    the executor's, from start to end: it includes waiting for a lock, not parsing or the
    protocol."""
    rows = []
    for key, (calls, ms, text) in after.items():
        was_calls, was_ms, _ = before.get(key, (0.0, 0.0, ""))
        if calls > was_calls:
            rows.append((key[0], calls - was_calls, ms - was_ms, " ".join(text.split())))
    total = sum(r[2] for r in rows)
    lines = [f"server time in statements: {total / done:.2f} ms per checkout "
             f"({sum(r[1] for r in rows) / done:.1f} statements, BEGIN and COMMIT among them; "
             "executor time, lock waits included)",
             "  service        per checkout   us each   ms per checkout  statement"]
    for service, calls, ms, text in sorted(rows, key=lambda r: -r[2])[:top]:
        lines.append(f"  {service:14} {calls / done:12.2f} {ms * 1000 / calls:9.0f} "
                     f"{ms / done:17.3f}  {text[:90]}")
    return "\n".join(lines)


def _profile_summary(path: Path, top: int = 25) -> str:
    """The functions of a py-spy ``raw`` (collapsed stacks) file with the most samples: own
    (the function was running) and total (it was on the stack)."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        samples += count
        frames = stack.split(";")
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + count
    lines = [f"py-spy: {samples} samples"]
    for title, table in (("own", own), ("total", total)):
        lines.append(f"-- {title} --")
        for frame, count in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f"{count / max(samples, 1):6.1%}  {frame}")
    return "\n".join(lines)


async def _open_loop(gateway: str, identity: str, args: argparse.Namespace,
                     first: Callable[[object], None]) -> tuple[dict[str, Any], int]:
    """``--rate``: checkouts arriving at a fixed rate whatever the answers (bench/overload.py's
    open loop, good cards only), so both engines do the same work per second; (the load's
    summary, checkouts ended)."""
    from overload import Shop

    from souk.load import percentile

    shop = await Shop.for_new_users(gateway, identity, args.users)
    try:
        await shop.start()
        await shop.closed_loop(8, 3.0)  # warm-up
        first(None)
        out, seconds = await shop.open_loop(args.rate, args.seconds)
    finally:
        await shop.close()
    done = max(len(out.ok) + out.cancelled, 1)
    latencies = sorted(out.ok)
    return {"per_second": done / seconds, "confirmed": len(out.ok), "cancelled": out.cancelled,
            "failed": out.failed, "not_sent": out.not_sent, "rejected": len(out.rejected),
            "latency_ms": {"p50": percentile(latencies, 50) * 1000 if latencies else 0.0,
                           "p99": percentile(latencies, 99) * 1000 if latencies else 0.0}}, done


def postgres_run(topology_text: str, args: argparse.Namespace, server: str | None,
                 prefix: str, profile: Path | None, perf: bool = False) -> dict[str, object]:
    import signal
    import subprocess

    from machine_profile import MachineProfile

    c = args.concurrency[-1] if server is not None or args.sqlite_concurrency is None \
        else args.sqlite_concurrency
    machine = MachineProfile() if perf else None
    stack = contextlib.ExitStack()
    if machine is not None:
        stack.enter_context(machine)
    profiled = ""
    with stack, running_platform(topology_text, purge=server is not None) as platform:
        gateway, identity, pids = platform.gateway, platform.identity, platform.pids
        status = platform.status
        spy: subprocess.Popen[bytes] | None = None
        asyncio.run(run_load(gateway, identity, 300, 16, args.decline_rate))  # warm-up
        before: dict[str, object] = {}

        def first(state: object, before: dict[str, object] = before) -> None:
            nonlocal spy
            if before:
                return
            before["cpu"] = cpu_of(pids) | {LOADGEN: own_cpu()}
            before["db"] = _db_counts(status)
            if server is not None:
                before["pg_cpu"] = _pg_backends(server, prefix)
                before["pg_xacts"] = _pg_xacts(server, prefix)
                if args.statements:
                    before["pg_statements"] = _pg_statements(server, prefix)
            if machine is not None:
                machine.start()
            if profile is not None and args.profile:
                spy = subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record",
                     "--pid", str(pids[f"{args.profile}-1"]),
                     "--format", "raw", "--output", str(profile), "--rate", "200",
                     "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        if args.rate:
            load, done = asyncio.run(_open_loop(gateway, identity, args, first))
        else:
            result = asyncio.run(run_load(gateway, identity, args.checkouts, c,
                                          args.decline_rate, progress=first))
            load, done = result.as_json(), max(result.confirmed + result.cancelled - 1, 1)
        after_cpu = cpu_of(pids) | {LOADGEN: own_cpu()}
        if machine is not None:
            machine.stop()
            backends = dict.fromkeys(
                _pg_backends(server, prefix) if server is not None else {}, "postgresql backends")
            profiled = machine.report({**pids, LOADGEN: os.getpid()}, groups=backends)
        after_db = _db_counts(status)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        pg_cpu = pg_xacts = None
        statements = ""
        if server is not None:
            if args.statements:
                statements = statements_report(before["pg_statements"],  # type: ignore[arg-type]
                                               _pg_statements(server, prefix), done)
            after_pg = _pg_backends(server, prefix)
            was: dict[int, float] = before["pg_cpu"]  # type: ignore[assignment]
            # a backend started during the run counts from zero
            pg_cpu = sum(cpu - was.get(pid, 0.0) for pid, cpu in after_pg.items())
            xb: dict[str, float] = before["pg_xacts"]  # type: ignore[assignment]
            pg_xacts = {k: v - xb.get(k, 0.0) for k, v in _pg_xacts(server, prefix).items()}
    cpu_b: dict[str, float] = before["cpu"]  # type: ignore[assignment]
    per_process = {k: (after_cpu[k] - cpu_b[k]) * 1000 / done for k in pids}
    if pg_cpu is not None:
        per_process["postgresql backends"] = pg_cpu * 1000 / done
    db_b: dict[str, tuple[float, float, float]] = before["db"]  # type: ignore[assignment]
    per_service_db = {k: tuple((v[i] - db_b[k][i]) / done for i in range(3))
                      for k, v in after_db.items()}
    return {"load": load, "cpu_ms_per_checkout": sum(per_process.values()), "perf": profiled,
            "statements": statements,
            "per_process": per_process, "db_per_checkout": per_service_db,
            "server_xacts_per_checkout": None if pg_xacts is None else
            {k: v / done for k, v in pg_xacts.items()},
            "loadgen_ms_per_checkout": (after_cpu[LOADGEN] - cpu_b[LOADGEN]) * 1000 / done}


def postgres_compare(args: argparse.Namespace) -> None:
    import uuid

    server = args.postgres or os.environ.get("SOUK_TEST_POSTGRES_URL") or \
        "postgresql://postgres@127.0.0.1:5432/postgres"
    if args.statements and (why := statements_available(server)):
        sys.exit(f"checkout.py --statements: {why}")
    autovacuum = _pg(server, "SELECT setting FROM pg_settings WHERE name = 'autovacuum'")
    if autovacuum and autovacuum[0]["setting"] == "off":
        print("note: this PostgreSQL server runs with autovacuum off; its planner never sees the "
              "tables grow, so a statement prepared while they were nearly empty keeps that plan "
              "(docs/decisions.md 92)")
    runs: dict[str, list[dict[str, object]]] = {"sqlite": [], "postgres": []}
    profile = Path(tempfile.gettempdir()) / f"souk-bench-{args.profile}.raw" if args.profile \
        else None
    for round_no in range(1, args.rounds + 1):
        for mode in ("sqlite", "postgres"):
            text = topology(free_port(), tracing=False).replace(
                "[services.catalog]\ninstances = 2", "[services.catalog]\ninstances = 1")
            prefix = f"souk_bench_{uuid.uuid4().hex[:8]}"
            if mode == "postgres":
                text = text.replace("[platform]\n", f'[platform]\npostgres = "{server}"\n'
                                    f'postgres_prefix = "{prefix}"\n', 1)
            run = postgres_run(text, args, server if mode == "postgres" else None, prefix,
                               profile if mode == "postgres" and round_no == 1 else None,
                               perf=args.perf and round_no == 1)
            runs[mode].append(run)
            load = run["load"]
            users = args.concurrency[-1] if mode == "postgres" or args.sqlite_concurrency is None \
                else args.sqlite_concurrency
            shape = f"open loop {args.rate:g}/s" if args.rate else f"{users} users"
            print(f"round {round_no} {mode:8} ({shape}): {load['per_second']:7.1f} checkouts/s  "  # type: ignore[index]
                  f"p50/p99 {load['latency_ms']['p50']:.0f}/{load['latency_ms']['p99']:.0f} ms  "  # type: ignore[index]
                  f"CPU {run['cpu_ms_per_checkout']:.2f} ms/checkout (load generator "
                  f"{run['loadgen_ms_per_checkout']:.2f} more)", flush=True)
            per = sorted(run["per_process"].items(), key=lambda kv: -kv[1])  # type: ignore[attr-defined]
            print("    CPU ms/checkout: " + ", ".join(f"{k} {v:.2f}" for k, v in per if v >= 0.05))
            db: dict[str, tuple[float, float, float]] = run["db_per_checkout"]  # type: ignore[assignment]
            xacts: dict[str, float] | None = run["server_xacts_per_checkout"]  # type: ignore[assignment]
            print("    per checkout, service: units of work / statements"
                  + (" / round trips (transactions the server counted)" if xacts else "") + ": "
                  + ", ".join(f"{k} {tx:.1f}/{st:.1f}"
                              + (f"/{rt:.1f} ({xacts.get(k, 0.0):.1f})" if xacts else "")
                              for k, (tx, st, rt) in sorted(db.items(), key=lambda kv: -kv[1][1])
                              if st >= 0.05))
            totals = [sum(v[i] for v in db.values()) for i in range(3)]
            print(f"    in all: {totals[0]:.1f} units of work, {totals[1]:.1f} statements"
                  + (f", {totals[2]:.1f} round trips" if xacts else ""))
            for report in (run["statements"], run["perf"]):
                if report:
                    print("    " + str(report).replace("\n", "\n    "))
    cpu = {m: statistics.median(float(r["cpu_ms_per_checkout"]) for r in runs[m])  # type: ignore[arg-type]
           for m in runs}
    rate = {m: statistics.median(float(r["load"]["per_second"]) for r in runs[m])  # type: ignore[index]
            for m in runs}
    print(f"\npostgres ÷ sqlite: CPU per checkout {cpu['postgres']:.2f} / {cpu['sqlite']:.2f} ms = "
          f"{cpu['postgres'] / cpu['sqlite']:.2f} times (goal: at most 2); throughput "
          f"{rate['postgres']:.1f} / {rate['sqlite']:.1f} checkouts/s")
    if profile is not None and profile.exists():
        print(f"\n{args.profile}-1 on PostgreSQL (round 1), {profile}:")
        print(_profile_summary(profile))
