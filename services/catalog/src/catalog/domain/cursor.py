"""Opaque cursors for keyset pagination over the product listing order (name, then id).

A cursor is the sort key of the last product of a page, as JSON, prefixed with a short keyed
BLAKE2b tag and encoded as URL-safe base64 without padding. The tag makes an edited, truncated or
made-up cursor fail loudly as ``InvalidCursor`` instead of silently starting a page somewhere odd.
It is an integrity check, not a secret: a forged cursor would only name a position in a public
listing, which grants nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from catalog.domain.errors import InvalidCursor
from catalog.domain.products import Product

__all__ = ["MAX_CURSOR_LENGTH", "ProductSortKey", "decode_cursor", "encode_cursor"]

# Versioned so that a future change of the payload can reject (or translate) old cursors.
_TAG_KEY = b"souk.catalog.cursor.v1"
_TAG_SIZE = 8
# Twice the longest cursor we can issue (a 200-character name in UTF-8, plus an id), so a client
# cannot make us decode megabytes.
MAX_CURSOR_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class ProductSortKey:
    """Where a product sits in the listing order; a page resumes strictly after it."""

    name: str
    id: str

    @classmethod
    def of(cls, product: Product) -> ProductSortKey:
        return cls(name=product.name, id=product.id)


def _tag(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, key=_TAG_KEY, digest_size=_TAG_SIZE).digest()


def encode_cursor(key: ProductSortKey) -> str:
    payload = json.dumps([key.name, key.id], ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(_tag(payload) + payload).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> ProductSortKey:
    """The sort key inside ``cursor``; ``InvalidCursor`` if we did not issue it unchanged."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor("the cursor is empty or too long")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("the cursor is not valid base64url") from exc
    # base64 leaves spare bits in the last character: only our own spelling of the bytes is valid,
    # so that every altered character is noticed.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != cursor:
        raise InvalidCursor("the cursor is not valid base64url")
    tag, payload = raw[:_TAG_SIZE], raw[_TAG_SIZE:]
    if len(tag) != _TAG_SIZE or not hmac.compare_digest(tag, _tag(payload)):
        raise InvalidCursor("the cursor was altered or truncated")
    try:
        name, product_id = json.loads(payload)
    except (ValueError, TypeError) as exc:  # only reachable if our own encoding changed
        raise InvalidCursor("the cursor payload is malformed") from exc
    if not isinstance(name, str) or not isinstance(product_id, str):
        raise InvalidCursor("the cursor payload is malformed")
    return ProductSortKey(name=name, id=product_id)
