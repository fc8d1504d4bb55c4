"""What the analytics entrypoints share, built once by the composition root (app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.service.ports import AnalyticsUnitOfWork
from analytics.service.replay import Replays

__all__ = ["AnalyticsContext"]


@dataclass(frozen=True, slots=True)
class AnalyticsContext:
    uow: AnalyticsUnitOfWork
    replays: Replays
