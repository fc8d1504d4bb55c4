"""The chaos experiments' folder (``WEB_CHAOS_EXPERIMENTS``; `souk up` points it at the one
`souk chaos` runs from): every ``*.json`` in it, as the console lists them. Reading only: an
experiment stops and starts processes through the supervisor, so it runs from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from web.domain.chaos import Experiment, experiment_of

__all__ = ["read_experiments"]

MAX_EXPERIMENTS = 100
MAX_BYTES = 256 * 1024


def read_experiments(folder: str) -> tuple[list[Experiment], list[str]]:
    """(the experiments, by name; one line per file that could not be read)."""
    if not folder:
        return [], []
    found: list[Experiment] = []
    unreadable: list[str] = []
    try:
        paths = sorted(Path(folder).glob("*.json"))[:MAX_EXPERIMENTS]
    except OSError as exc:
        return [], [f"{folder}: {exc.strerror or exc}"]
    for path in paths:
        try:
            if path.stat().st_size > MAX_BYTES:
                raise ValueError("too large")
            doc = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            unreadable.append(f"{path.name}: {exc}")
            continue
        found.append(experiment_of(path.stem, doc))
    return found, unreadable
