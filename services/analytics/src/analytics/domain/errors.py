"""What can go wrong in analytics (mapped to problem+json in app.py)."""

from __future__ import annotations

__all__ = ["ReplayIncomplete", "StreamUnavailable"]


class StreamUnavailable(Exception):
    """The stored events cannot be read (the broker is not connected), so nothing was rebuilt."""


class ReplayIncomplete(Exception):
    """The replay did not read the whole stream (it stalled, or another replay took over): the
    live read models were left as they were."""
