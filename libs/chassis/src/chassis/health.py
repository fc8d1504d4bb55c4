"""Health probes: ``/health/live`` says the process runs; ``/health/ready`` runs every check.

A check is *required* (the service cannot answer HTTP without it: its database) or not (the
broker: its outbox holds what it sends while NATS is away). Only a failing required check makes
the service unready; a failing optional one makes it *degraded* — still ready, so it stays
registered and routed, with the failure named in the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

__all__ = ["Check", "HealthChecks", "HealthStatus"]

Check = Callable[[], Awaitable[None]]
HealthStatus = Literal["ready", "degraded", "not-ready"]


class HealthChecks:
    """Named readiness checks; a check passes by returning and fails by raising."""

    def __init__(self, timeout: float = 1.0) -> None:
        self._checks: dict[str, Check] = {}
        self._optional: set[str] = set()
        self.timeout = timeout

    def add(self, name: str, check: Check, *, required: bool = True) -> None:
        """Add a check; one that is not ``required`` only degrades readiness when it fails."""
        self._checks[name] = check
        if required:
            self._optional.discard(name)
        else:
            self._optional.add(name)

    async def run(self) -> tuple[HealthStatus, dict[str, str]]:
        """Run all checks concurrently; return the status (``not-ready`` when a required check
        fails, ``degraded`` when only optional ones do) and name → "ok" or the failure."""
        names = list(self._checks)
        results = await asyncio.gather(
            *(asyncio.wait_for(self._checks[n](), self.timeout) for n in names),
            return_exceptions=True)
        report: dict[str, str] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                report[name] = f"failing: {type(result).__name__}: {result}".rstrip(": ")
            else:
                report[name] = "ok"
        failing = {name for name, outcome in report.items() if outcome != "ok"}
        if failing - self._optional:
            return "not-ready", report
        return ("degraded" if failing else "ready"), report
