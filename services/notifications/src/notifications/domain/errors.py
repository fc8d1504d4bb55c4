"""What can go wrong in notifications, in domain terms (app.py maps these to problem+json)."""

from __future__ import annotations

__all__ = ["InvalidCursor"]


class InvalidCursor(ValueError):
    """A mailbox cursor we did not issue, or one that was altered."""
