from __future__ import annotations

import base64
import string

import pytest

from catalog.domain.cursor import (
    MAX_CURSOR_LENGTH,
    ProductSortKey,
    decode_cursor,
    encode_cursor,
)
from catalog.domain.errors import InvalidCursor

pytestmark = pytest.mark.unit

KEY = ProductSortKey(name='Crème Brûlée Torch, "the" 72% _one_', id="0190f3a2-7b1c-7d4e-8f00-123456789abc")
BASE64URL = string.ascii_letters + string.digits + "-_"


@pytest.mark.parametrize("key", [KEY, ProductSortKey("A", "b"), ProductSortKey("x" * 200, "y" * 36)])
def test_decoding_an_encoded_cursor_gives_back_the_sort_key(key: ProductSortKey) -> None:
    assert decode_cursor(encode_cursor(key)) == key


def test_a_cursor_is_url_safe_and_unpadded() -> None:
    cursor = encode_cursor(KEY)
    assert set(cursor) <= set(BASE64URL)


def test_the_longest_cursor_we_issue_is_accepted() -> None:
    longest = encode_cursor(ProductSortKey("\U0001f600" * 200, "f" * 36))
    assert len(longest) <= MAX_CURSOR_LENGTH
    assert decode_cursor(longest).name == "\U0001f600" * 200


def test_changing_any_single_character_is_detected() -> None:
    cursor = encode_cursor(KEY)
    for i, char in enumerate(cursor):
        for replacement in {"A", "B", "-"} - {char}:
            with pytest.raises(InvalidCursor):
                decode_cursor(cursor[:i] + replacement + cursor[i + 1:])


@pytest.mark.parametrize("cut", [1, 2, 3, 10])
def test_a_truncated_or_extended_cursor_is_rejected(cut: int) -> None:
    cursor = encode_cursor(KEY)
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor[:-cut])
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor + "A" * cut)


def test_a_cursor_for_another_position_cannot_be_made_by_editing_the_payload() -> None:
    raw = base64.urlsafe_b64decode(encode_cursor(ProductSortKey("Apple", "1")) + "==")
    forged = raw.replace(b"Apple", b"Zebra")
    with pytest.raises(InvalidCursor):
        decode_cursor(base64.urlsafe_b64encode(forged).rstrip(b"=").decode())


@pytest.mark.parametrize("garbage", [
    "", "abc", "not a cursor", "!!!!", "é" * 12, "AAAA", "A" * 16,
    base64.urlsafe_b64encode(b"[1,2]").decode(), "A" * (MAX_CURSOR_LENGTH + 1)])
def test_garbage_is_rejected_as_an_invalid_cursor(garbage: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(garbage)
