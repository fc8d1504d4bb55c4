"""Tolerances for Chaos Toolkit (``"type": "probe"``): the probe's value arrives as ``value``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["checkouts_held"]


def checkouts_held(value: Mapping[str, Any] | None = None, min_success_rate: float = 1.0,
                   max_p95_ms: float | None = None) -> bool:
    """A window of checkouts held: at least ``min_success_rate`` of them reached a terminal
    state, and (when given) their p95 latency stayed within ``max_p95_ms``. (``value`` has a
    default only so that Chaos Toolkit's validation, which does not know it comes at run time,
    accepts the experiment.)"""
    if value is None:
        return False
    if float(value.get("success_rate", 0.0)) < min_success_rate:
        return False
    p95 = float(value.get("latency_ms", {}).get("p95", 0.0))
    return max_p95_ms is None or p95 <= max_p95_ms
