"""Login throttling: failures counted per key (an account, a client address) in a sliding window.

Once a key has ``max_failures`` failures inside the window it is locked for ``lockout`` seconds
after its latest failure. When the lock ends the window still holds those failures, so each
further failure locks it again at once: one guess per lockout period until the window drains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["FailureCount", "ThrottlePolicy", "retry_after"]


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int
    window: timedelta
    lockout: timedelta

    def window_start(self, now: datetime) -> datetime:
        return now - self.window


@dataclass(frozen=True, slots=True)
class FailureCount:
    """Failures of one key inside the window, and when the latest happened."""

    count: int
    latest: datetime | None


def retry_after(failures: FailureCount, policy: ThrottlePolicy, now: datetime) -> int | None:
    """Whole seconds until the key may try again, or None when it may try now."""
    if failures.count < policy.max_failures or failures.latest is None:
        return None
    remaining = (failures.latest + policy.lockout - now).total_seconds()
    return math.ceil(remaining) if remaining > 0 else None
