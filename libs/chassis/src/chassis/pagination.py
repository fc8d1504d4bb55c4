"""One pagination convention for every listing, and one cursor codec.

A listing takes ``?limit=&cursor=`` and answers :class:`Page` — ``{"items": [...], "next": ...}``
where ``next`` is the cursor of the following page, or null on the last one.

A cursor is the sort key of the last item of a page (a short list of strings and numbers), as
JSON behind a keyed BLAKE2b tag, in unpadded base64url. The tag makes an edited, truncated or
made-up cursor fail loudly (:class:`InvalidCursor`, a 400 problem) instead of silently starting a
page somewhere odd. It is an integrity check, not a secret: a forged cursor could only name a
position in a listing the caller may read anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

import msgspec

from chassis.web.params import Query

__all__ = ["MAX_CURSOR_LENGTH", "CursorCodec", "CursorParam", "InvalidCursor", "Page"]

T = TypeVar("T")
MAX_CURSOR_LENGTH = 2048
_TAG_SIZE = 8

Key = list[str | int | float]


class InvalidCursor(ValueError):
    """The cursor was not issued by this listing, or was changed since."""


class Page(msgspec.Struct, Generic[T]):
    """One page of a listing, with the cursor of the next (null on the last page)."""

    items: list[T]
    next: str | None = None


CursorParam = Annotated[str | None, Query(
    "cursor", max_length=MAX_CURSOR_LENGTH, description="`next` of the previous page")]


class CursorCodec:
    """Cursors of one listing; ``purpose`` (``"catalog.products.v1"``) keys the tag, so a cursor
    of one listing is refused by another, and a changed payload can get a new version."""

    def __init__(self, purpose: str) -> None:
        self._key = purpose.encode()[:64]

    def _tag(self, payload: bytes) -> bytes:
        return hashlib.blake2b(payload, key=self._key, digest_size=_TAG_SIZE).digest()

    def encode(self, key: Key) -> str:
        payload = msgspec.json.encode(key)
        return base64.urlsafe_b64encode(self._tag(payload) + payload).rstrip(b"=").decode()

    def decode(self, cursor: str, shape: tuple[type, ...]) -> list[Any]:
        """The key inside ``cursor``, whose items must have the types of ``shape``; an item of
        type ``datetime`` travels as its ISO 8601 text and is given back parsed."""
        if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor("the cursor is empty or too long")
        try:
            raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_",
                                   validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursor("the cursor is not valid base64url") from exc
        # base64 leaves spare bits in the last character: only our own spelling is valid, so
        # that every altered character is noticed
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != cursor:
            raise InvalidCursor("the cursor is not valid base64url")
        tag, payload = raw[:_TAG_SIZE], raw[_TAG_SIZE:]
        if len(tag) != _TAG_SIZE or not payload or not hmac.compare_digest(tag, self._tag(payload)):
            raise InvalidCursor("the cursor was altered or truncated")
        try:
            key = msgspec.json.decode(payload)
        except (msgspec.DecodeError, RecursionError) as exc:  # not one of ours (see above)
            raise InvalidCursor("the cursor payload is malformed") from exc
        if not isinstance(key, list) or len(key) != len(shape):
            raise InvalidCursor("the cursor payload is malformed")
        return [_item(v, t) for v, t in zip(key, shape, strict=True)]


def _item(value: object, kind: type) -> Any:
    if kind is datetime and isinstance(value, str):
        try:  # in UTC, as the listings store it: a time whose UTC is out of range is refused
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            pass
        raise InvalidCursor("the cursor payload is malformed")
    if not isinstance(value, kind) or not _storable(value):
        raise InvalidCursor("the cursor payload is malformed")
    return value


def _storable(value: object) -> bool:
    """What a database takes as a query parameter: a 64-bit integer, a finite float, text
    without NUL (PostgreSQL's text refuses it). The tag's key is no secret (see above): a made-up
    cursor must not reach a query that would fail on it."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and "\x00" not in value
