"""Opaque cursors over a mailbox (newest first): the id of the last message of a page behind a
short keyed BLAKE2b tag, base64url. The tag is an integrity check, not a secret: an edited or
made-up cursor fails as ``InvalidCursor`` instead of starting a page somewhere odd."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from notifications.domain.errors import InvalidCursor

__all__ = ["decode_cursor", "encode_cursor"]

_TAG_KEY = b"souk.notifications.cursor.v1"
_TAG_SIZE = 8
_MAX_LENGTH = 256


def _tag(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, key=_TAG_KEY, digest_size=_TAG_SIZE).digest()


def encode_cursor(message_id: str) -> str:
    payload = message_id.encode()
    return base64.urlsafe_b64encode(_tag(payload) + payload).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> str:
    """The message id inside ``cursor``; ``InvalidCursor`` unless we issued it unchanged."""
    if not cursor or len(cursor) > _MAX_LENGTH:
        raise InvalidCursor("the cursor is empty or too long")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("the cursor is not valid base64url") from exc
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != cursor:
        raise InvalidCursor("the cursor is not valid base64url")
    tag, payload = raw[:_TAG_SIZE], raw[_TAG_SIZE:]
    if len(tag) != _TAG_SIZE or not payload or not hmac.compare_digest(tag, _tag(payload)):
        raise InvalidCursor("the cursor was altered or truncated")
    try:
        return payload.decode()
    except UnicodeDecodeError as exc:  # only reachable if our own encoding changed
        raise InvalidCursor("the cursor payload is malformed") from exc
