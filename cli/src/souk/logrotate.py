"""Bounded logs. Every process writes its own file in ``<home>/logs`` through a descriptor it
holds for life, opened for appending; so a file cannot be swapped under it. The supervisor keeps
each file under a size by copying it to ``<name>.1`` (the older ones shift, ``.1`` to ``.2`` …,
the oldest dropped) and truncating it in place: the process's next line lands at the start of
the emptied file (appends always go to the end). A line written in the instant between the
copy's end and the truncation is lost; every other line is in one of the files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["generation", "generations", "rotate", "rotate_large", "rotated_id"]

_COPY_CHUNK = 1 << 20


def generation(path: Path, n: int) -> Path:
    """The ``n``-th older file of ``path`` (``orders-1.log.1`` the newest of them)."""
    return path.with_name(f"{path.name}.{n}")


def generations(path: Path) -> list[Path]:
    """The older files rotation left of ``path``, newest first (``.1``, ``.2`` …)."""
    found = []
    for n in range(1, 10):
        older = generation(path, n)
        if not older.exists():
            break
        found.append(older)
    return found


def rotated_id(path: Path) -> int | None:
    """Which rotation of ``path`` its ``.1`` file holds (its inode; None: none yet)."""
    try:
        return generation(path, 1).stat().st_ino
    except FileNotFoundError:
        return None


def rotate(path: Path, keep: int) -> None:
    """Move what ``path`` holds to its first older file, keeping ``keep`` of them."""
    for n in range(keep, 1, -1):
        older = generation(path, n - 1)
        if older.exists():
            os.replace(older, generation(path, n))
    # a new file each time (a follower knows a rotation by the ``.1`` it has not seen)
    partial = path.with_name(f"{path.name}.rotating")
    target = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(path, "rb") as source, open(target, "wb") as copy:
        shutil.copyfileobj(source, copy, _COPY_CHUNK)
        copy.write(source.read())  # what was appended meanwhile, then truncate at once
        os.truncate(path, 0)
    os.replace(partial, generation(path, 1))


def rotate_large(folder: Path, max_bytes: int, keep: int) -> list[str]:
    """Rotate every ``*.log`` of ``folder`` larger than ``max_bytes``; the names rotated."""
    rotated = []
    for path in sorted(folder.glob("*.log")):
        try:
            if path.stat().st_size > max_bytes:
                rotate(path, keep)
                rotated.append(path.name)
        except FileNotFoundError:  # a process's file removed meanwhile (souk down --purge)
            continue
    return rotated
