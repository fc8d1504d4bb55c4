"""A database transaction that can also publish: the transactional outbox."""

from __future__ import annotations

import base64
import contextvars
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar, cast

import orjson

from chassis.db.base import Params, Row, Transaction
from chassis.messaging.envelope import CORRELATION, NATS_MSG_ID, Outgoing, subject_for
from chassis.tracing import NO_TRACING, Tracing
from contracts import Message, encode

__all__ = ["INSERT_OUTBOX", "INSERT_OUTBOX_ROWS", "STORED_AS_BASE64", "Batched", "MessageTx",
           "ReadAheadLoader", "stored_row"]

INSERT_OUTBOX = ("INSERT INTO outbox (msg_id, subject, headers, payload, created_at) "
                 "VALUES (:msg_id, :subject, :headers, :payload, :created_at) "
                 "ON CONFLICT (msg_id) DO NOTHING")
# PostgreSQL: a transaction's rows in one statement the server runs once (``executemany`` is one
# round trip too, but the server executes the insert once per row)
INSERT_OUTBOX_ROWS = ("INSERT INTO outbox (msg_id, subject, headers, payload, created_at) "
                      "SELECT * FROM unnest(CAST(:msg_id AS text[]), CAST(:subject AS text[]), "
                      "CAST(:headers AS text[]), CAST(:payload AS text[]), "
                      "CAST(:created_at AS double precision[])) "
                      "ON CONFLICT (msg_id) DO NOTHING")

# Outbox-only header of a row whose payload is stored as base64: the ``payload`` column is text,
# and neither bytes that are not UTF-8 nor (on PostgreSQL) a NUL fit in it. Only raw publishes
# (a dead letter carries whatever arrived) can hold such bytes; the relay decodes them back.
STORED_AS_BASE64 = "Souk-Outbox-Base64"


class Batched(Protocol):
    """Writes gathered over a transaction and made at its end (see :meth:`MessageTx.batched`)."""

    async def flush(self) -> None: ...


B = TypeVar("B", bound=Batched)
V = TypeVar("V")
# reads the values of several ids in one statement (see MessageTx.read_ahead)
ReadAheadLoader = Callable[["MessageTx", list[str]], Awaitable[Iterable[tuple[str, V]]]]


def stored_row(o: Outgoing) -> dict[str, Any]:
    """The outbox row of ``o``: its payload as text, or as base64 (and marked so) when the text
    column could not hold it."""
    headers, payload = o.headers, o.payload
    try:
        text: str | None = payload.decode()
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        headers = {**headers, STORED_AS_BASE64: "1"}
        text = base64.b64encode(payload).decode()
    return {"msg_id": o.msg_id, "subject": o.subject, "headers": orjson.dumps(headers).decode(),
            "payload": text, "created_at": o.created_at}


class MessageTx:
    """The statements of one unit of work plus the messages it publishes.

    ``publish`` only records the message; the rows are written to the outbox at the end of the
    transaction (one ``executemany``) and handed to the relay once it has committed.
    """

    __slots__ = ("_after_commit", "_ahead", "_batched", "_tracing", "_tx",
                 "batch_correlation_ids", "correlation_id", "dialect", "outgoing",
                 "trace_headers")

    def __init__(self, tx: Transaction, correlation_id: str = "",
                 tracing: Tracing = NO_TRACING, dialect: str = "sqlite") -> None:
        self._tx = tx
        self.dialect = dialect
        self._tracing = tracing
        self.outgoing: list[Outgoing] = []
        self.correlation_id = correlation_id
        # a consumer's batch: the correlation ids of the messages this transaction applies (see
        # read_ahead); whoever applies a batch of its own may set them too
        self.batch_correlation_ids: frozenset[str] = frozenset()
        self._ahead: dict[ReadAheadLoader[Any], dict[str, Any]] = {}
        self.trace_headers: dict[str, str] = {}
        self._after_commit: list[tuple[contextvars.Context, Callable[[], None]]] = []
        self._batched: dict[Callable[[MessageTx], Batched], Batched] = {}

    def batched(self, kind: Callable[[MessageTx], B]) -> B:
        """This transaction's one ``kind(tx)``, made on first use; its ``flush()`` runs once at
        the end of the transaction, before the outbox is written. For handlers whose writes cost
        less together: a consumer applies a batch of messages in one transaction, and what each
        message's handler adds can then be one statement for the batch instead of one each. The
        flush is part of the transaction like any statement (if it fails, the batch is rolled
        back and its messages are applied one per transaction, each flushing its own)."""
        found = self._batched.get(kind)
        if found is None:
            found = self._batched[kind] = kind(self)
        return cast(B, found)

    async def read_ahead(self, key: str, load: ReadAheadLoader[V]) -> dict[str, V | None] | None:
        """What ``load`` finds for every id of :attr:`batch_correlation_ids`, read once per
        transaction and loader (its first use): one statement for a batch instead of one a
        message. None when ``key`` is not one of several ids of the batch: read it alone.
        The caller *pops* its key (None: ``load`` found nothing), so that a second message of
        the batch about the same id reads it again, with what the first one wrote.
        ``load(tx, ids)`` answers (id, value) pairs; a module-level function, since it is the
        cache's key. What it read may be older than a read at the message's own turn would be
        (another instance, under PostgreSQL's READ COMMITTED): only for what the writes guard
        (a version checked on save), as for any read before a write."""
        ids = self.batch_correlation_ids
        if len(ids) < 2 or key not in ids:
            return None
        found = self._ahead.get(load)
        if found is None:
            wanted = sorted(ids)
            found = self._ahead[load] = dict.fromkeys(wanted)
            found.update(await load(self, wanted))
        return found

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this transaction has committed (not on rollback); for in-memory
        notifications that must never announce what was not stored, and work that must start
        only then. It runs in the context it was registered in: a task it starts continues the
        trace of the message (or request) being handled, not the batch's."""
        self._after_commit.append((contextvars.copy_context(), callback))

    def run_after_commit(self) -> None:
        callbacks, self._after_commit = self._after_commit, []
        for context, callback in callbacks:
            context.run(callback)

    async def execute(self, sql: str, params: Params | None = None) -> int:
        return await self._tx.execute(sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        await self._tx.execute_many(sql, rows)

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        return await self._tx.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        return await self._tx.fetch_one(sql, params)

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        return await self._tx.fetch_value(sql, params)

    def publish(self, message: Message, *, msg_id: str, correlation_id: str | None = None,
                headers: dict[str, str] | None = None) -> None:
        """Publish ``message`` if and when this transaction commits. ``msg_id`` must be
        deterministic (the same logical message always gets the same id), so that JetStream and
        the consumers' inboxes can drop duplicates."""
        correlation = self.correlation_id if correlation_id is None else correlation_id
        # the subject names the type and Nats-Msg-Id is the inbox key: Souk-Type and
        # Souk-Msg-Id are only added where they differ (dead letters, replays)
        hdrs = {NATS_MSG_ID: msg_id}
        if correlation:
            hdrs[CORRELATION] = correlation
        # the consumer's span will be a child of the span publishing (unsampled traces too, so
        # the sampling decision holds end to end)
        if not self._tracing.inject_current(hdrs, f"publish {message.TYPE}") \
                and self.trace_headers:  # not tracing here: pass the caller's trace on unchanged
            hdrs.update(self.trace_headers)
        if headers:
            hdrs.update(headers)
        self.outgoing.append(Outgoing(msg_id=msg_id, subject=subject_for(message), headers=hdrs,
                                      payload=encode(message),
                                      created_at=time.time()))

    def publish_raw(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        """Publish bytes as they are (dead letters, replays)."""
        self.outgoing.append(Outgoing(msg_id=headers[NATS_MSG_ID], subject=subject,
                                      headers=dict(headers), payload=payload, created_at=time.time()))

    async def flush_outbox(self) -> None:
        """Flush what was :meth:`batched`, then write the recorded messages to the outbox
        (called by the owner before commit)."""
        batched, self._batched = self._batched, {}
        for pending in batched.values():
            await pending.flush()
        if not self.outgoing:
            return
        rows = [stored_row(o) for o in self.outgoing]
        if self.dialect == "postgresql" and len(rows) > 1:
            await self._tx.execute(INSERT_OUTBOX_ROWS, {
                column: [row[column] for row in rows]
                for column in ("msg_id", "subject", "headers", "payload", "created_at")})
        else:
            await self._tx.execute_many(INSERT_OUTBOX, rows)
