"""What can go wrong in analytics (mapped to problem+json in app.py)."""

from __future__ import annotations

__all__ = ["StreamUnavailable"]


class StreamUnavailable(Exception):
    """The stored events cannot be read (the broker is not connected), so nothing was rebuilt."""
