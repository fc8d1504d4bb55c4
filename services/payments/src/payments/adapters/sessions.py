"""Transactions as the use cases see them: a ledger, plus messages through the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chassis.db import Database
from chassis.messaging import MessageTx, Messaging
from contracts import Message
from payments.adapters.sql import SqlLedger
from payments.service.ports import Session, SessionFactory
from payments.service.queries import ReadFactory, Reads

__all__ = ["MessagingSession", "message_sessions", "read_sessions"]


class MessagingSession:
    """A messaging transaction (a consumer's batch, or one opened by a background task)."""

    __slots__ = ("_ledger", "_tx")

    def __init__(self, tx: MessageTx, dialect: str) -> None:
        self._tx = tx
        self._ledger = SqlLedger(tx, dialect)

    @property
    def ledger(self) -> SqlLedger:
        return self._ledger

    def publish(self, message: Message, *, msg_id: str,
                correlation_id: str | None = None) -> None:
        self._tx.publish(message, msg_id=msg_id, correlation_id=correlation_id)


def message_sessions(messaging: Messaging) -> SessionFactory:
    """Each call opens a new messaging transaction."""

    @asynccontextmanager
    async def open_session() -> AsyncIterator[Session]:
        async with messaging.transaction() as tx:
            yield MessagingSession(tx, messaging.db.dialect)

    return open_session


def read_sessions(db: Database) -> ReadFactory:
    """Each call opens a read-only transaction."""

    @asynccontextmanager
    async def open_reads() -> AsyncIterator[Reads]:
        async with db.transaction(readonly=True) as tx:
            yield SqlLedger(tx, db.dialect)

    return open_reads
