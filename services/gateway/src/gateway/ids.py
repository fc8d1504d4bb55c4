"""Request ids, cheaply: 128 random bits as 32 hex digits, cut from one ``os.urandom`` call per
256 ids (a UUIDv7 per request cost a lock, a clock read and two ``urandom`` calls)."""

from __future__ import annotations

import os

__all__ = ["RequestIds"]

_PER_REFILL = 256
_ID_HEX = 32


class RequestIds:
    """An endless supply of random request ids (bytes, lower-case hex)."""

    __slots__ = ("_halves", "_ids")

    def __init__(self) -> None:
        self._ids: list[bytes] = []
        self._halves: list[bytes] = []

    def next(self) -> bytes:
        """A new request id."""
        ids = self._ids
        if not ids:
            pool = os.urandom(_PER_REFILL * _ID_HEX // 2).hex().encode()
            ids.extend(pool[i:i + _ID_HEX] for i in range(0, len(pool), _ID_HEX))
        return ids.pop()

    def trace(self) -> tuple[bytes, bytes]:
        """A new trace id and span id (32 and 16 hex digits), in one call."""
        halves = self._halves
        if not halves:
            whole = self.next()
            halves.append(whole[16:])
            return self.next(), whole[:16]
        return self.next(), halves.pop()

    def next_span(self) -> bytes:
        """A new span id: 64 random bits as 16 hex digits (half an id)."""
        halves = self._halves
        if not halves:
            whole = self.next()
            halves.append(whole[16:])
            return whole[:16]
        return halves.pop()
