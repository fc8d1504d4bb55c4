"""What every command shares: the two consoles, the ``--home`` option, the error exit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["HomeOption", "err", "fail", "out"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

HomeOption = Annotated[Path | None, typer.Option(
    "--home", envvar="SOUK_HOME", help="data, logs and state folder [default: ./var]",
    show_default=False)]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error on stderr; the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)
