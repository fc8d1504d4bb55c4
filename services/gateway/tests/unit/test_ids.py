"""Request and trace ids (gateway.ids): the W3C shapes, lower-case hex, never repeated."""

from __future__ import annotations

import pytest

from gateway.ids import RequestIds

pytestmark = pytest.mark.unit

_HEX = frozenset(b"0123456789abcdef")


def test_request_ids_are_128_bits_of_lower_case_hex_and_do_not_repeat() -> None:
    ids = RequestIds()
    seen = [ids.next() for _ in range(1000)]  # several refills
    assert all(len(i) == 32 and _HEX.issuperset(i) for i in seen)
    assert len(set(seen)) == len(seen)


def test_trace_and_span_ids_have_the_traceparent_lengths_and_do_not_repeat() -> None:
    ids = RequestIds()
    pairs = [ids.trace() for _ in range(1000)]
    assert all(len(t) == 32 and len(s) == 16 and _HEX.issuperset(t + s) for t, s in pairs)
    assert len({t for t, _ in pairs}) == len(pairs)
    assert len({s for _, s in pairs}) == len(pairs)
