"""What the telemetry entrypoints share, built once by the composition root (app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from telemetry.service.ports import TraceUnitOfWork
from telemetry.service.tail import TailSampler

__all__ = ["TelemetryContext"]


@dataclass(frozen=True)
class TelemetryContext:
    uow: TraceUnitOfWork  # the trace store, read by the search API
    sampler: TailSampler  # where received spans are held until their trace is decided
