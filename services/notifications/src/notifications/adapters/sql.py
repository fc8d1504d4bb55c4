"""The mailbox in plain SQL, portable between SQLite and PostgreSQL."""

from __future__ import annotations

from chassis.db import Row, Transaction
from chassis.db.timestamps import from_db_timestamp, to_db_timestamp
from notifications.domain.messages import Kind, Message
from notifications.service.ports import Mailbox, OrderMessages

__all__ = ["SqlMailbox"]

# No conflict target: the insert yields to either unique index, (order_id, kind) or the one
# terminal message per order, on both engines.
_INSERT = """
    INSERT INTO messages (id, user_id, order_id, kind, subject, body, created_at)
    VALUES (:id, :user_id, :order_id, :kind, :subject, :body, :created_at)
    ON CONFLICT DO NOTHING
"""
_SELECT = "SELECT id, user_id, order_id, kind, subject, body, created_at FROM messages"
_FOR_USER = _SELECT + " WHERE user_id = :user_id ORDER BY id DESC LIMIT :limit"
_FOR_USER_BEFORE = (_SELECT + " WHERE user_id = :user_id AND id < :before"
                    " ORDER BY id DESC LIMIT :limit")
_ORDER_PAGE = """
    SELECT order_id FROM messages WHERE order_id > :after
    GROUP BY order_id ORDER BY order_id LIMIT :limit
"""
_ORDER_ROWS = """
    SELECT order_id, user_id, kind FROM messages
    WHERE order_id > :after AND order_id <= :last ORDER BY order_id, kind
"""


def _message(row: Row) -> Message:
    return Message(id=row["id"], user_id=row["user_id"], order_id=row["order_id"],
                   kind=Kind(row["kind"]), subject=row["subject"], body=row["body"],
                   created_at=from_db_timestamp(row["created_at"]))


class SqlMailbox(Mailbox):
    """The mailbox through one transaction (a message batch's, or an HTTP request's)."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add_if_absent(self, message: Message) -> bool:
        inserted = await self._tx.execute(_INSERT, {
            "id": message.id, "user_id": message.user_id, "order_id": message.order_id,
            "kind": message.kind.value, "subject": message.subject, "body": message.body,
            "created_at": to_db_timestamp(self._tx.dialect, message.created_at)})
        return inserted > 0

    async def list_for_user(self, user_id: str, *, before_id: str | None,
                            limit: int) -> list[Message]:
        if before_id is None:
            rows = await self._tx.fetch_all(_FOR_USER, {"user_id": user_id, "limit": limit})
        else:
            rows = await self._tx.fetch_all(_FOR_USER_BEFORE, {
                "user_id": user_id, "before": before_id, "limit": limit})
        return [_message(row) for row in rows]

    async def list_by_order(self, *, after: str, limit: int) -> list[OrderMessages]:
        page = await self._tx.fetch_all(_ORDER_PAGE, {"after": after, "limit": limit})
        if not page:
            return []
        rows = await self._tx.fetch_all(_ORDER_ROWS, {"after": after,
                                                      "last": page[-1]["order_id"]})
        grouped: dict[str, tuple[str, list[Kind]]] = {}
        for row in rows:
            grouped.setdefault(row["order_id"], (row["user_id"], []))[1].append(Kind(row["kind"]))
        return [OrderMessages(order_id, user_id, tuple(kinds))
                for order_id, (user_id, kinds) in grouped.items()]
