"""Request and trace ids, cheaply: random hex cut from one ``os.urandom`` call per 256 ids (a
UUIDv7 per request cost a lock, a clock read and two ``urandom`` calls)."""

from __future__ import annotations

import os

__all__ = ["RequestIds"]

_PER_REFILL = 256
_ID_HEX = 32
_SPAN_HEX = 16
_PAIR_HEX = _ID_HEX + _SPAN_HEX


class RequestIds:
    """An endless supply of random ids (bytes, lower-case hex): request ids of 128 bits, and
    trace ids (128 bits) with span ids (64 bits)."""

    __slots__ = ("_ids", "_traces")

    def __init__(self) -> None:
        self._ids: list[bytes] = []
        self._traces: list[tuple[bytes, bytes]] = []

    def next(self) -> bytes:
        """A new request id."""
        ids = self._ids
        if not ids:
            pool = os.urandom(_PER_REFILL * _ID_HEX // 2).hex().encode()
            ids.extend([pool[i:i + _ID_HEX] for i in range(0, len(pool), _ID_HEX)])
        return ids.pop()

    def trace(self) -> tuple[bytes, bytes]:
        """A new trace id and span id (32 and 16 hex digits), in one call."""
        traces = self._traces
        if not traces:
            pool = os.urandom(_PER_REFILL * _PAIR_HEX // 2).hex().encode()
            traces.extend([(pool[i:i + _ID_HEX], pool[i + _ID_HEX:i + _PAIR_HEX])
                           for i in range(0, len(pool), _PAIR_HEX)])
        return traces.pop()
