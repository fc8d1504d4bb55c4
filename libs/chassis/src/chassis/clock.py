"""The service's wall clock: the host's time plus the skew a user switched on (``clock_skew``
in the live configuration, ``ActiveFaults.set_clock_skew``), so one service's clock can run
ahead or behind the others' on one machine.

Everything whose meaning depends on wall time goes through it: the tokens a service issues
(``iat``/``exp``) and the checks of the tokens it receives, the deadlines it sends and stores
(saga steps, the deadline header), hold expiries, and the timestamps it stores. Durations stay on
``time.monotonic`` (a skew must not stretch a timeout), and logs and spans keep the host's clock:
they are the observer's instruments, read side by side across services.

One clock per process (a process is one service instance): a module, not an object passed down,
because wall time is read in places no request reaches (sweepers, consumers, the token cache).
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime

__all__ = ["now", "set_skew", "skew", "time"]

_skew = 0.0


def time() -> float:
    """Unix seconds on this service's clock."""
    return _time.time() + _skew


def now() -> datetime:
    """This service's clock as an aware UTC datetime."""
    return datetime.fromtimestamp(_time.time() + _skew, UTC)


def skew() -> float:
    """Seconds this service's clock runs ahead (negative: behind) of the host's."""
    return _skew


def set_skew(seconds: float) -> None:
    """Run this service's clock ``seconds`` ahead of the host's (behind when negative)."""
    global _skew
    _skew = float(seconds)
