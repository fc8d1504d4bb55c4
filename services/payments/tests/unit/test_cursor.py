from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payments.domain.cursor import ListingKey, decode_cursor, encode_cursor
from payments.domain.errors import InvalidCursor

pytestmark = pytest.mark.unit

KEY = ListingKey(datetime(2025, 3, 4, 5, 6, 7, 89, tzinfo=UTC), "0194-order")


def test_a_cursor_gives_back_its_key() -> None:
    assert decode_cursor(encode_cursor(KEY)) == KEY


@pytest.mark.parametrize("cursor", ["", "not-a-cursor", "é%00", "A" * 5000,
                                    encode_cursor(KEY)[:-2], encode_cursor(KEY)[1:]])
def test_a_cursor_we_did_not_issue_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)
