"""``souk chaos list`` and ``souk chaos run EXPERIMENT``: Chaos Toolkit's ``chaos run`` against
the running platform, its output live, then the journal's path and the verdict."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from souk.chaos.journal import Verdict, verdict
from souk.console import HomeOption, command_group, err, fail, out, running_state
from souk.home import Home

__all__ = ["experiment_path", "experiments_dir", "register"]

chaos_app = command_group("Chaos experiments (Chaos Toolkit) against the running platform.")
SOURCE_TREE = Path(__file__).resolve().parents[4]
FOLDER = Path("chaos") / "experiments"
DirOption = Annotated[Path | None, typer.Option(
    "--experiments", help="the experiments' folder [default: chaos/experiments here or above]",
    show_default=False)]


def register(app: typer.Typer) -> None:
    app.add_typer(chaos_app, name="chaos")


def experiments_dir(option: Path | None = None) -> Path:
    """``--experiments``, else ``chaos/experiments`` in this folder or a parent, else the one
    beside the souk sources."""
    if option is not None:
        return option
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / FOLDER).is_dir():
            return folder / FOLDER
    return SOURCE_TREE / FOLDER


def experiment_path(name: str, folder: Path) -> Path | None:
    """A file path as given, or ``NAME`` / ``NAME.json`` in the experiments' folder."""
    for candidate in (Path(name), folder / name, folder / f"{name}.json"):
        if candidate.is_file():
            return candidate
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise fail(f"{path}: not a JSON experiment ({exc})", 2) from None
    if not isinstance(data, dict):
        raise fail(f"{path}: not a JSON experiment", 2)
    return data


@chaos_app.command("list")
def list_experiments(experiments: DirOption = None) -> None:
    """The experiments and the hypothesis each states."""
    folder = experiments_dir(experiments)
    paths = sorted(folder.glob("*.json"))
    if not paths:
        raise fail(f"no experiments in {folder}")
    table = Table(show_edge=False, pad_edge=False, box=None)
    for column in ("experiment", "title", "steady state"):
        table.add_column(column, overflow="fold")
    for path in paths:
        data = _read(path)
        table.add_row(path.stem, str(data.get("title", "")),
                      str((data.get("steady-state-hypothesis") or {}).get("title", "")))
    out.print(table)
    out.print(f"\n[dim]{escape(str(folder))}; run one with [bold]souk chaos run NAME[/][/]")


def _output(value: Any) -> str:
    """A step's output in a few words: ``checkouts=1160 failed=0`` (the figures that tell a
    verdict first, when the output has them), a list as its length; the journal has it whole."""
    if isinstance(value, dict):
        keys = ("success_rate", "failed", "violations", "missing", "unexpected", "checkouts",
                "back_after_s", "seconds", "restarted")
        shown = {k: value[k] for k in keys if k in value} or value
        return " ".join(f"{k}={_scalar(v, nested=True)}" for k, v in shown.items())[:120]
    return _scalar(value)[:120]


def _scalar(value: Any, *, nested: bool = False) -> str:
    if isinstance(value, list | tuple | dict):
        count = f"{len(value)} {'keys' if isinstance(value, dict) else 'items'}"
        return f"[{count}]" if nested else count
    return json.dumps(value, default=str)


def _show(result: Verdict, journal: Path) -> None:
    table = Table(show_edge=False, pad_edge=False, box=None)
    for column in ("phase", "activity", "status", "s", "met"):
        table.add_column(column, no_wrap=True)
    table.add_column("output", overflow="fold")
    for step in result.steps:
        met = "" if step.met is None else ("[green]yes[/]" if step.met else "[red]no[/]")
        colour = "green" if step.status == "succeeded" else "red"
        table.add_row(step.phase, escape(step.name),
                      f"[{colour}]{step.status}[/]", f"{step.seconds:.1f}", met,
                      escape(_output(step.output)))
    out.print()
    out.print(table)
    out.print(f"\njournal: {escape(str(journal))}")
    if result.held:
        out.print("[bold green]verdict: the hypothesis held[/] (steady state met before and "
                  "after, every activity succeeded)")
    else:
        out.print("[bold red]verdict: the hypothesis did not hold[/]")
        for reason in result.reasons:
            out.print(f"  - {escape(reason)}")


@chaos_app.command("run")
def run(experiment: Annotated[str, typer.Argument(
            help="a name from souk chaos list, or a path to an experiment file",
            show_default=False)],
        home: HomeOption = None, experiments: DirOption = None,
        journal: Annotated[Path | None, typer.Option(
            help="where to write the journal [default: `HOME/chaos/NAME-TIME.json`]",
            show_default=False)] = None) -> None:
    """Run an experiment through Chaos Toolkit (``chaos run``) against the running platform;
    exit 0 only if its hypothesis held."""
    where = Home.resolve(home)
    path = experiment_path(experiment, experiments_dir(experiments))
    if path is None:
        raise fail(f"no experiment {experiment!r} (see souk chaos list)", 2)
    if path.suffix == ".json":  # refused here in a line, not by Chaos Toolkit's traceback
        _read(path)
    running_state(where)
    runs = where.root / "chaos"
    runs.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    journal = journal or runs / f"{path.stem}-{stamp}.json"
    # rollbacks are played however the run ends: Chaos Toolkit's default skips them when the
    # run is interrupted or its hypothesis failed, which left the faults on
    command = [sys.executable, "-m", "chaostoolkit", "--log-file", str(journal.with_suffix(".log")),
               "run", "--rollback-strategy", "always", "--journal-path", str(journal),
               "--var", f"souk_home={where.root}", str(path)]
    err.print(f"[dim]$ chaos run {escape(str(path))}  (home {escape(str(where.root))})[/]")
    code = _run_to_the_end(command, {**os.environ, "SOUK_HOME": str(where.root)})
    if not journal.is_file():
        raise fail(f"chaos run exited {code} without a journal", 2)
    result = verdict(json.loads(journal.read_text()))
    _show(result, journal)
    if code == INTERRUPTED:
        raise fail("interrupted: the rollbacks were played and the run's faults taken off",
                   INTERRUPTED)
    if not result.held:
        raise typer.Exit(1)


INTERRUPTED = 130


def _run_to_the_end(command: list[str], env: dict[str, str]) -> int:
    """Run Chaos Toolkit in a session of its own, so that a Ctrl-C reaches it once, from here:
    it then stops the method, plays the rollbacks and writes its journal, which is waited for.
    A second Ctrl-C stops waiting (and Chaos Toolkit). INTERRUPTED when interrupted."""
    child = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        return child.wait()
    except KeyboardInterrupt:
        err.print("[yellow]interrupted: ending the experiment, playing its rollbacks "
                  "(Ctrl-C again to stop waiting)[/]")
        child.send_signal(signal.SIGINT)
    try:
        child.wait()
    except KeyboardInterrupt:
        child.kill()
        child.wait()
        raise fail("interrupted twice: Chaos Toolkit stopped before its rollbacks ended; "
                   "see souk fault list and souk config list", INTERRUPTED) from None
    return INTERRUPTED
