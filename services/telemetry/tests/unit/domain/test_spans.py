"""Trace ids as the API reads them."""

from __future__ import annotations

import pytest

from telemetry.domain.errors import InvalidTraceId
from telemetry.domain.spans import normalize_trace_id

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("bad", ["", "abc", "0" * 32, "g" * 32, "a" * 33])
def test_a_trace_id_is_32_hex_digits_and_not_zero(bad: str) -> None:
    with pytest.raises(InvalidTraceId):
        normalize_trace_id(bad)


def test_a_trace_id_is_read_case_insensitively() -> None:
    assert normalize_trace_id("ABCDEF0123456789ABCDEF0123456789") == "abcdef0123456789abcdef0123456789"
