"""What every command shares: the two consoles, the ``--home`` option, the error exit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from souk.home import Home
    from souk.state import State

__all__ = ["CANNOT_ACT", "HomeOption", "command_group", "err", "fail", "out", "running_state"]

# the exit code of a command that could not do what it was asked (souk is not running, a value
# refused, a platform that could not be read); 1 is kept for a check that ran and failed
CANNOT_ACT = 2

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

def _home_folder(value: Path | None) -> Path | None:
    """Refuse (exit 2) a home that cannot be a folder: it, or a folder above it, is a file."""
    if value is not None:
        path = value.expanduser().absolute()
        for where in (path, *path.parents):
            if where.exists():
                if not where.is_dir():
                    raise typer.BadParameter(
                        f"{path} cannot be a home folder: {where} is a file")
                break
    return value


HomeOption = Annotated[Path | None, typer.Option(
    "--home", envvar="SOUK_HOME", help="data, logs and state folder [default: ./var]",
    show_default=False, callback=_home_folder)]


def command_group(help: str, **options: Any) -> typer.Typer:
    """A typer app as every souk command group is made: no arguments shows its help, and help
    texts read as Markdown. (Rich's markup mode kept a docstring's line breaks in the list of
    commands, and took a ``[default: …]`` written in an option's help for a style tag: dropped.)"""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode="markdown", **options)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error on stderr; the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def running_state(where: Home) -> State:
    """The running platform's state; exit 2 saying how to start it when souk is not running."""
    from souk.control import running_pid
    from souk.state import read_state

    state = read_state(where.state_file)
    if running_pid(where) is None or state is None:
        raise fail(f"souk is not running (home {where.root}); start it with souk up", CANNOT_ACT)
    return state
