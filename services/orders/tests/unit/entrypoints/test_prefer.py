"""`Prefer: wait=N` (RFC 7240) as the checkout reads it."""

from __future__ import annotations

import pytest

from orders.entrypoints.http import _prefer_wait

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("prefer", "seconds"), [
    (None, 0.0), ("", 0.0), ("wait=10", 10.0), ("respond-async, wait=5", 5.0),
    ("wait=5; foo", 5.0), ("wait=0.25", 0.25), ("wait=600", 30.0),  # at most the cap
    ("wait=0.0000001", 0.0),  # read to the millisecond: no wait
    # not delta-seconds: no wait preference, rather than the digits before the rest
    ("wait=1e-9", 0.0), ("wait=1e9", 0.0), ("wait=5s", 0.0), ("wait=", 0.0), ("wait=-1", 0.0),
    ("nowait=5", 0.0),
])
def test_the_wait_asked_for(prefer: str | None, seconds: float) -> None:
    assert _prefer_wait(prefer, 30.0) == seconds
