"""What every command shares: the two consoles, the ``--home`` option, the error exit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["HomeOption", "command_group", "err", "fail", "out"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

HomeOption = Annotated[Path | None, typer.Option(
    "--home", envvar="SOUK_HOME", help="data, logs and state folder [default: ./var]",
    show_default=False)]


def command_group(help: str, **options: Any) -> typer.Typer:
    """A typer app as every souk command group is made: no arguments shows its help, and help
    texts read as Markdown. (Rich's markup mode kept a docstring's line breaks in the list of
    commands, and took a ``[default: …]`` written in an option's help for a style tag: dropped.)"""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode="markdown", **options)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error on stderr; the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)
