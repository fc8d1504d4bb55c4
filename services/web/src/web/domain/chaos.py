"""Chaos experiments as the console lists them: what each one states and does, read from its
Chaos Toolkit document (title, description as the hypothesis, the steady state's probes, the
method's steps, the rollbacks)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Experiment", "experiment_of"]


@dataclass(frozen=True, slots=True)
class Experiment:
    name: str  # the file's stem: what `souk chaos run NAME` takes
    title: str
    hypothesis: str
    steady_state: str
    probes: tuple[str, ...]
    method: tuple[str, ...]
    rollbacks: tuple[str, ...]
    tags: tuple[str, ...]


def _names(activities: Any) -> tuple[str, ...]:
    if not isinstance(activities, list):
        return ()
    return tuple(str(a.get("name", "?")) for a in activities if isinstance(a, Mapping))


def experiment_of(name: str, doc: Mapping[str, Any]) -> Experiment:
    """The experiment a parsed document describes (missing parts are empty)."""
    steady = doc.get("steady-state-hypothesis")
    steady = steady if isinstance(steady, Mapping) else {}
    tags = doc.get("tags")
    return Experiment(
        name=name, title=str(doc.get("title", name)), hypothesis=str(doc.get("description", "")),
        steady_state=str(steady.get("title", "")), probes=_names(steady.get("probes")),
        method=_names(doc.get("method")), rollbacks=_names(doc.get("rollbacks")),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else ())
