"""The verdict of a Chaos Toolkit journal: did the hypothesis hold, and what happened."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Step", "Verdict", "verdict"]


@dataclass(frozen=True)
class Step:
    phase: str  # "before", "method", "after", "rollback"
    kind: str  # "probe" or "action"
    name: str
    status: str  # "succeeded", "failed", …
    seconds: float
    met: bool | None  # a steady-state probe's tolerance; None elsewhere
    output: Any


@dataclass(frozen=True)
class Verdict:
    held: bool
    status: str  # the journal's: completed, failed, aborted, interrupted
    deviated: bool
    reasons: list[str]
    steps: list[Step] = field(default_factory=list)


def _step(phase: str, run: Mapping[str, Any]) -> Step:
    activity = run.get("activity", {})
    return Step(phase, str(activity.get("type", "?")), str(activity.get("name", "?")),
                str(run.get("status", "?")), round(float(run.get("duration") or 0.0), 2),
                run.get("tolerance_met") if phase in ("before", "after") else None,
                run.get("output"))


def verdict(journal: Mapping[str, Any]) -> Verdict:
    """Held when the run completed, the steady state was met before and after the method, and
    every activity of the method succeeded (a fault that was not injected proves nothing)."""
    steps: list[Step] = []
    states = journal.get("steady_states") or {}
    # in the order they ran: the check before, the method, the check after, the rollbacks
    steps += [_step("before", run) for run in (states.get("before") or {}).get("probes", [])]
    steps += [_step("method", run) for run in journal.get("run") or []]
    steps += [_step("after", run) for run in (states.get("after") or {}).get("probes", [])]
    steps += [_step("rollback", run) for run in journal.get("rollbacks") or []]
    status, deviated = str(journal.get("status", "?")), bool(journal.get("deviated"))
    reasons = []
    if status != "completed":
        reasons.append(f"the run ended {status}")
    if deviated:
        reasons.append("the steady state deviated after the method")
    for phase in ("before", "after"):
        if not states.get(phase):
            reasons.append(f"no steady-state check {phase} the method")
        elif not states[phase].get("steady_state_met"):
            reasons.append(f"the steady state was not met {phase} the method")
    reasons += [f"{s.phase} {s.kind} {s.name!r}: {s.status} out of tolerance" if s.met is False
                else f"{s.phase} {s.kind} {s.name!r} {s.status}"
                for s in steps if s.status != "succeeded" or s.met is False]
    return Verdict(not reasons, status, deviated, list(dict.fromkeys(reasons)), steps)
