"""The product listing's cursors (the chassis codec, as the catalog uses it): they carry the
(name, id) position exactly, and anything we did not issue unchanged is refused."""

from __future__ import annotations

import base64
import string

import pytest

from catalog.entrypoints.http import decode_after, encode_after
from catalog.service.ports import ProductSortKey
from chassis.pagination import MAX_CURSOR_LENGTH, CursorCodec, InvalidCursor

from ...factories import make_product

pytestmark = pytest.mark.unit

UUID = "0190f3a2-7b1c-7d4e-8f00-123456789abc"
PRODUCT = make_product(name='Crème Brûlée Torch, "the" 72% _one_', product_id=UUID)
BASE64URL = string.ascii_letters + string.digits + "-_"


@pytest.mark.parametrize("name", [PRODUCT.name, "A", "x" * 200])
def test_a_cursor_resumes_right_after_its_product(name: str) -> None:
    product = make_product(name=name, product_id=UUID)
    assert decode_after(encode_after(product)) == ProductSortKey(name, UUID)


def test_a_cursor_is_url_safe_and_unpadded() -> None:
    assert set(encode_after(PRODUCT)) <= set(BASE64URL)


def test_the_longest_cursor_we_issue_is_accepted() -> None:
    longest = encode_after(make_product(name="\U0001f600" * 200, product_id=UUID))
    assert len(longest) <= MAX_CURSOR_LENGTH
    assert decode_after(longest).name == "\U0001f600" * 200


def test_changing_any_single_character_is_detected() -> None:
    cursor = encode_after(PRODUCT)
    for i, char in enumerate(cursor):
        for replacement in {"A", "B", "-"} - {char}:
            with pytest.raises(InvalidCursor):
                decode_after(cursor[:i] + replacement + cursor[i + 1:])


@pytest.mark.parametrize("cut", [1, 2, 3, 10])
def test_a_truncated_or_extended_cursor_is_refused(cut: int) -> None:
    cursor = encode_after(PRODUCT)
    with pytest.raises(InvalidCursor):
        decode_after(cursor[:-cut])
    with pytest.raises(InvalidCursor):
        decode_after(cursor + "A" * cut)


def test_a_cursor_of_another_listing_is_refused() -> None:
    other = CursorCodec("orders.own.v1").encode([PRODUCT.name, PRODUCT.id])
    with pytest.raises(InvalidCursor):
        decode_after(other)


def test_another_position_cannot_be_made_by_editing_the_payload() -> None:
    cursor = encode_after(make_product(name="Apple", product_id=UUID))
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    forged = base64.urlsafe_b64encode(raw.replace(b"Apple", b"Zebra")).rstrip(b"=").decode()
    with pytest.raises(InvalidCursor):
        decode_after(forged)


@pytest.mark.parametrize("garbage", [
    "", "abc", "not a cursor", "!!!!", "é" * 12, "AAAA", "A" * 16,
    base64.urlsafe_b64encode(b"[1,2]").decode(), "A" * (MAX_CURSOR_LENGTH + 1),
    CursorCodec("catalog.products.v1").encode(["only a name"])])
def test_garbage_is_refused_as_an_invalid_cursor(garbage: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_after(garbage)
