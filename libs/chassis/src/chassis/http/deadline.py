"""The overall deadline of a call chain, carried from service to service in a header.

``X-Souk-Deadline`` is absolute, in Unix milliseconds (the gateway sets it at the edge). A service
that calls another passes what is left of it on, so nobody downstream works on an answer that
nobody upstream still waits for: the chassis's web layer answers a request whose deadline has
passed with 504 before any work, and keeps the deadline of the request being handled in
:data:`current_deadline`, which :class:`~chassis.http.ServiceClient` calls made while handling it
inherit.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar

__all__ = ["DEADLINE_HEADER", "current_deadline", "deadline_from_headers",
           "deadline_header_value"]

# the deadline (Unix seconds) of the request being handled, None when it carried none
current_deadline: ContextVar[float | None] = ContextVar("souk_deadline", default=None)

DEADLINE_HEADER = "X-Souk-Deadline"


def deadline_from_headers(headers: Mapping[str, str]) -> float | None:
    """The deadline an incoming request carries, as Unix seconds; None if absent or malformed."""
    raw = headers.get(DEADLINE_HEADER) or headers.get(DEADLINE_HEADER.lower())
    if not raw or not raw.isdigit() or len(raw) > 16:
        return None
    return int(raw) / 1000.0


def deadline_header_value(deadline: float) -> str:
    """Unix seconds as the header's value (integer milliseconds)."""
    return str(int(deadline * 1000))
