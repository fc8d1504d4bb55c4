"""The event store and its projection in plain SQL, portable between SQLite and PostgreSQL.

Appends are optimistic: each event takes the next version of its stream, and the primary key
``(stream_id, version)`` turns a concurrent append into ``ConcurrencyConflict``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

import msgspec

from chassis import clock
from chassis.db import Row, one_of
from chassis.db.timestamps import from_db_timestamp, to_db_timestamp
from chassis.messaging import MessageTx
from contracts import Message
from payments.domain.errors import ConcurrencyConflict
from payments.domain.events import PaymentEvent, event_name, event_type
from payments.domain.payment import Status
from payments.service.ports import (
    Lease,
    ListingKey,
    PaymentsRepository,
    PaymentSummary,
    StoredEvent,
    Stream,
)

__all__ = ["SqlPayments", "event_from_record", "event_record"]

_LOAD = """SELECT version, type, data, recorded_at FROM payment_events
           WHERE stream_id = :stream_id ORDER BY version"""
_LOAD_MANY = """SELECT stream_id, version, type, data, recorded_at FROM payment_events
                WHERE {where} ORDER BY stream_id, version"""
_APPEND = """INSERT INTO payment_events (stream_id, version, type, data, recorded_at)
             VALUES (:stream_id, :version, :type, :data, :recorded_at)"""
_UPSERT = """
    INSERT INTO payments (order_id, user_id, status, amount_minor, currency, authorized_minor,
                          captured_minor, refunded_minor, captures, created_at, updated_at{claim})
    VALUES (:order_id, :user_id, :status, :amount_minor, :currency, :authorized_minor,
            :captured_minor, :refunded_minor, :captures, :now, :now{claim_values})
    ON CONFLICT (order_id) DO UPDATE SET
        user_id = excluded.user_id, status = excluded.status,
        amount_minor = excluded.amount_minor, currency = excluded.currency,
        authorized_minor = excluded.authorized_minor, captured_minor = excluded.captured_minor,
        refunded_minor = excluded.refunded_minor, captures = excluded.captures,
        updated_at = excluded.updated_at{claim_update}"""
# the projection and, with a claim, the claim too (the same row: one statement instead of two)
_UPSERTS = {claimed: _UPSERT.format(
    claim=", claimed_by, claimed_until" if claimed else "",
    claim_values=", :owner, :until" if claimed else "",
    claim_update=(", claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until"
                  if claimed else "")) for claimed in (False, True)}
# PostgreSQL: the events and the projection in one statement, one round trip instead of one per
# event and one more; a version taken meanwhile still fails the whole statement (23505)
_APPEND_PROJECTED = """
    WITH appended AS (
        INSERT INTO payment_events (stream_id, version, type, data, recorded_at)
        SELECT CAST(:order_id AS text), e.version, e.type, e.data,
               CAST(:now AS timestamptz)
        FROM unnest(CAST(:versions AS integer[]), CAST(:types AS text[]),
                    CAST(:datas AS text[])) AS e(version, type, data))
"""
_APPENDS_PROJECTED = {claimed: _APPEND_PROJECTED + upsert for claimed, upsert in _UPSERTS.items()}
# a claim is free, expired, or already the claimant's (which renews it); the same test in the
# outer WHERE makes a second claimant that waited on the row lock (PostgreSQL, READ COMMITTED)
# re-check it against the first one's committed claim and skip the row
_CLAIMABLE = ("status = :pending AND (claimed_until IS NULL OR claimed_until <= :now"
              " OR claimed_by = :owner)")
_CLAIM = f"""UPDATE payments SET claimed_by = :owner, claimed_until = :until
             WHERE order_id = :order_id AND {_CLAIMABLE}"""  # noqa: S608
_CLAIM_PENDING = f"""
    UPDATE payments SET claimed_by = :owner, claimed_until = :until
    WHERE order_id IN (SELECT order_id FROM payments WHERE {_CLAIMABLE}
                       ORDER BY updated_at, order_id LIMIT :limit{{lock}})
      AND {_CLAIMABLE}
    RETURNING order_id"""  # noqa: S608
_SUMMARY = """SELECT order_id, user_id, status, amount_minor, currency, authorized_minor,
                     captured_minor, refunded_minor, captures, created_at, updated_at
              FROM payments"""


_ENCODER = msgspec.json.Encoder()


def event_record(event: PaymentEvent) -> tuple[str, str]:
    """(stored type name, JSON data) of ``event``."""
    return event_name(event), _ENCODER.encode(event).decode()


def event_from_record(type_name: str, data: str | bytes) -> PaymentEvent:
    """The event stored as ``type_name`` with ``data``; fields this code does not know are
    ignored, so a newer writer's additions do not break an older reader."""
    event: PaymentEvent = msgspec.json.decode(data, type=event_type(type_name))
    return event


async def _streams_of(tx: MessageTx, ids: list[str]) -> list[tuple[str, list[Row]]]:
    """The events of the streams ``ids``, in one statement (see ``SqlPayments.load``)."""
    where, params = one_of(tx.dialect, "stream_id", ids)
    rows = await tx.fetch_all(_LOAD_MANY.format(where=where), params)
    streams: dict[str, list[Row]] = {}
    for row in rows:
        streams.setdefault(row["stream_id"], []).append(row)
    return list(streams.items())


def _is_duplicate_key(exc: Exception) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return True
    # asyncpg's UniqueViolationError, by SQLSTATE (no import of the driver needed here)
    return getattr(exc, "sqlstate", None) == "23505"


def _summary(row: Row) -> PaymentSummary:
    return PaymentSummary(
        order_id=row["order_id"], user_id=row["user_id"] or "", status=row["status"],
        amount_minor=int(row["amount_minor"]), currency=row["currency"] or "",
        authorized_minor=int(row["authorized_minor"]), captured_minor=int(row["captured_minor"]),
        refunded_minor=int(row["refunded_minor"]), captures=int(row["captures"]),
        created_at=from_db_timestamp(row["created_at"]),
        updated_at=from_db_timestamp(row["updated_at"]))


class SqlPayments(PaymentsRepository):
    """The event store, its projection and listings through one transaction: a consumer batch's,
    or one opened by a request or the late authorizer (``publish`` goes to the outbox)."""

    __slots__ = ("_tx",)

    def __init__(self, tx: MessageTx) -> None:
        self._tx = tx

    def _ts(self, value: datetime) -> Any:
        return to_db_timestamp(self._tx.dialect, value)

    async def load(self, order_id: str) -> Stream:
        # a batch's commands (correlated by order id) read their streams in one statement
        ahead = await self._tx.read_ahead(order_id, _streams_of)
        if ahead is not None and order_id in ahead:
            rows = ahead.pop(order_id) or []
        else:
            rows = await self._tx.fetch_all(_LOAD, {"stream_id": order_id})
        return Stream(order_id, tuple(
            StoredEvent(int(r["version"]), event_from_record(r["type"], r["data"]),
                        from_db_timestamp(r["recorded_at"])) for r in rows))

    def will_load(self, order_ids: Collection[str]) -> None:
        self._tx.batch_correlation_ids = frozenset(order_ids)

    async def append(self, stream: Stream, events: Sequence[PaymentEvent], *,
                     claim: tuple[Lease, float] | None = None) -> Stream:
        if not events:
            return stream
        now = clock.now()
        stored = tuple(StoredEvent(stream.version + i, e, now) for i, e in enumerate(events, 1))
        recorded_at = self._ts(now)
        records = [event_record(s.event) for s in stored]
        after = Stream(stream.order_id, stream.events + stored)
        p = after.payment
        projection = {
            "order_id": p.order_id, "user_id": p.user_id or None, "status": str(p.status),
            "amount_minor": p.amount_minor, "currency": p.currency or None,
            "authorized_minor": p.authorized_minor, "captured_minor": p.captured_minor,
            "refunded_minor": p.refunded_minor, "captures": p.captures, "now": recorded_at}
        if claim is not None:
            lease, at = claim
            projection |= {"owner": lease.owner, "until": at + lease.seconds}
        claimed = claim is not None
        try:
            if self._tx.dialect == "postgresql":
                await self._tx.execute(_APPENDS_PROJECTED[claimed], projection | {
                    "versions": [s.version for s in stored],
                    "types": [type_name for type_name, _ in records],
                    "datas": [data for _, data in records]})
                return after
            for s, (type_name, data) in zip(stored, records, strict=True):
                await self._tx.execute(_APPEND, {
                    "stream_id": stream.order_id, "version": s.version, "type": type_name,
                    "data": data, "recorded_at": recorded_at})
        except Exception as exc:
            if _is_duplicate_key(exc):
                raise ConcurrencyConflict(
                    f"stream {stream.order_id} moved past version {stream.version}") from exc
            raise
        await self._tx.execute(_UPSERTS[claimed], projection)
        return after

    async def claim(self, order_id: str, lease: Lease, now: float) -> bool:
        claimed = await self._tx.execute(_CLAIM, {
            "order_id": order_id, "owner": lease.owner, "until": now + lease.seconds,
            "now": now, "pending": str(Status.PENDING)})
        return claimed > 0

    async def claim_pending(self, lease: Lease, now: float, limit: int) -> list[str]:
        # PostgreSQL: rows another claimant has locked are skipped, not waited for
        lock = " FOR UPDATE SKIP LOCKED" if self._tx.dialect == "postgresql" else ""
        rows = await self._tx.fetch_all(_CLAIM_PENDING.format(lock=lock), {
            "owner": lease.owner, "until": now + lease.seconds, "now": now, "limit": limit,
            "pending": str(Status.PENDING)})
        return sorted(r["order_id"] for r in rows)

    async def for_user(self, user_id: str, limit: int,
                       before: ListingKey | None) -> list[PaymentSummary]:
        params: dict[str, Any] = {"user_id": user_id, "limit": limit}
        seek = ""
        if before is not None:
            seek = " AND (created_at, order_id) < (:created_at, :order_id)"
            params |= {"created_at": self._ts(before.created_at), "order_id": before.order_id}
        rows = await self._tx.fetch_all(
            f"{_SUMMARY} WHERE user_id = :user_id{seek}"
            " ORDER BY created_at DESC, order_id DESC LIMIT :limit", params)
        return [_summary(r) for r in rows]

    async def all_after(self, after: str | None, limit: int) -> list[PaymentSummary]:
        if after is None:
            rows = await self._tx.fetch_all(f"{_SUMMARY} ORDER BY order_id LIMIT :limit",
                                            {"limit": limit})
        else:
            rows = await self._tx.fetch_all(
                f"{_SUMMARY} WHERE order_id > :after ORDER BY order_id LIMIT :limit",
                {"after": after, "limit": limit})
        return [_summary(r) for r in rows]

    def publish(self, message: Message, *, msg_id: str,
                correlation_id: str | None = None) -> None:
        self._tx.publish(message, msg_id=msg_id, correlation_id=correlation_id)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._tx.after_commit(callback)
