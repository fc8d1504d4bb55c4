"""Opaque cursors for a user's listing (newest first): the last item's (created_at, order_id)
as JSON behind a short keyed BLAKE2b tag, base64url. The tag is an integrity check, not a
secret: any edit becomes ``InvalidCursor`` instead of a page starting somewhere odd."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from payments.domain.errors import InvalidCursor

__all__ = ["ListingKey", "decode_cursor", "encode_cursor"]

_TAG_KEY = b"souk.payments.cursor.v1"
_TAG_SIZE = 8
_MAX_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class ListingKey:
    """Where a payment sits in its owner's listing; the next page starts strictly before it."""

    created_at: datetime
    order_id: str


def _tag(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, key=_TAG_KEY, digest_size=_TAG_SIZE).digest()


def encode_cursor(key: ListingKey) -> str:
    payload = json.dumps([key.created_at.isoformat(), key.order_id],
                         separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(_tag(payload) + payload).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> ListingKey:
    if not cursor or len(cursor) > _MAX_LENGTH:
        raise InvalidCursor("the cursor is empty or too long")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("the cursor is not valid base64url") from exc
    tag, payload = raw[:_TAG_SIZE], raw[_TAG_SIZE:]
    if len(tag) != _TAG_SIZE or not hmac.compare_digest(tag, _tag(payload)):
        raise InvalidCursor("the cursor was altered or truncated")
    try:
        created_at, order_id = json.loads(payload)
        return ListingKey(datetime.fromisoformat(created_at), str(order_id))
    except (ValueError, TypeError) as exc:  # only reachable if our own encoding changed
        raise InvalidCursor("the cursor payload is malformed") from exc
