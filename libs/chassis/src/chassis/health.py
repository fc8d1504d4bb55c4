"""Health probes: ``/health/live`` says the process runs; ``/health/ready`` runs every check."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["Check", "HealthChecks"]

Check = Callable[[], Awaitable[None]]


class HealthChecks:
    """Named readiness checks; a check passes by returning and fails by raising."""

    def __init__(self, timeout: float = 1.0) -> None:
        self._checks: dict[str, Check] = {}
        self.timeout = timeout

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def run(self) -> tuple[bool, dict[str, str]]:
        """Run all checks concurrently; return (all passed, name → "ok" or the failure)."""
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
        return all(v == "ok" for v in report.values()), report
