"""The orders tables in plain SQL (SQLite and PostgreSQL alike), behind ``OrdersTx``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson

from chassis.db.base import Row, one_of
from chassis.messaging import MessageTx
from contracts import Message
from orders.domain.order import Order, OrderLine
from orders.domain.saga import Saga, Status, Step
from orders.service.ports import JournalEntry, OrdersRepository, SagaRecord

__all__ = ["SqlOrders"]

SELECT = ("SELECT id, user_id, status, step, attempt, deadline_at, payment_requested, reason, "
          "total_minor, currency, lines, card_token, request_hash, version, created_at, "
          "updated_at, trace_parent, cart_version FROM orders ")
INSERT = ("INSERT INTO orders (id, user_id, idempotency_key, request_hash, card_token, status, "
          "step, attempt, deadline_at, payment_requested, reason, total_minor, currency, lines, "
          "version, created_at, updated_at, trace_parent, cart_version) VALUES (:id, :user_id, :key, "
          ":hash, :card_token, :status, :step, :attempt, :deadline_at, :payment_requested, '', "
          ":total_minor, :currency, :lines, 0, :now, :now, :trace_parent, :cart_version) "
          "ON CONFLICT DO NOTHING")  # (user, key) was used, or an order holds this cart version
_SAVE = ("UPDATE orders SET status = :status, step = :step, attempt = :attempt, "
         "deadline_at = :deadline_at, payment_requested = :payment_requested, reason = :reason, "
         "version = version + 1, updated_at = :now{} WHERE id = :id AND version = :version")
SAVE = _SAVE.format("")
# a cancelled order lets go of its cart version (migration 0006's unique index holds one order
# per version, over the rows that have one): the cart stays as it was, and may be ordered again.
# Only this statement names the column, so the index is not touched by the saga's other steps
SAVE_CANCELLED = _SAVE.format(", cart_version = NULL")
JOURNAL = ("INSERT INTO saga_journal (order_id, step, note, at) "
           "VALUES (:order_id, :step, :note, :at)")
# PostgreSQL: the row and its journal entry in one statement (one round trip instead of two); the
# entry is written only when the row was (a stale version or a used key writes neither)
_JOURNAL_WRITTEN = ("INSERT INTO saga_journal (order_id, step, note, at) "
                    "SELECT id, CAST(:j_step AS text), CAST(:j_note AS text), "
                    "CAST(:j_at AS double precision) FROM written")
INSERT_JOURNALED = f"WITH written AS ({INSERT} RETURNING id) {_JOURNAL_WRITTEN}"
SAVE_JOURNALED = f"WITH written AS ({SAVE} RETURNING id) {_JOURNAL_WRITTEN}"
SAVE_CANCELLED_JOURNALED = f"WITH written AS ({SAVE_CANCELLED} RETURNING id) {_JOURNAL_WRITTEN}"


def _lines_json(lines: tuple[OrderLine, ...]) -> str:
    return orjson.dumps([{"sku": x.sku, "quantity": x.quantity,
                          "unit_price_minor": x.unit_price_minor, "name": x.name}
                         for x in lines]).decode()


def _lines(text: str) -> tuple[OrderLine, ...]:
    return tuple(OrderLine(sku=x["sku"], quantity=int(x["quantity"]),
                           unit_price_minor=int(x["unit_price_minor"]), name=x.get("name", ""))
                 for x in orjson.loads(text))


def order_from_row(row: Row) -> Order:
    return Order(id=row["id"], user_id=row["user_id"], status=Status(row["status"]),
                 total_minor=int(row["total_minor"]), currency=row["currency"],
                 lines=_lines(row["lines"]), reason=row["reason"] or "",
                 created_at=float(row["created_at"]), updated_at=float(row["updated_at"]))


def _record(row: Row) -> SagaRecord:
    saga = Saga(order_id=row["id"], status=Status(row["status"]), step=Step(row["step"]),
                attempt=int(row["attempt"]), deadline_at=row["deadline_at"],
                payment_requested=bool(row["payment_requested"]), reason=row["reason"] or "",
                version=int(row["version"]))
    return SagaRecord(saga=saga, user_id=row["user_id"], total_minor=int(row["total_minor"]),
                      currency=row["currency"], lines=_lines(row["lines"]),
                      card_token=row["card_token"], created_at=float(row["created_at"]),
                      trace_parent=row["trace_parent"] or "",
                      cart_version=None if row["cart_version"] is None
                      else int(row["cart_version"]))


_STATUSES = "SELECT id, status FROM orders WHERE "


async def _sagas_of(tx: MessageTx, ids: list[str]) -> list[tuple[str, Row]]:
    """The saga rows of ``ids``, in one statement (a consumer batch's replies: see load)."""
    where, params = one_of(tx.dialect, "id", ids)
    return [(row["id"], row) for row in await tx.fetch_all(SELECT + "WHERE " + where, params)]


class SqlOrders(OrdersRepository):
    """The orders tables through one transaction (a messaging one: ``publish`` goes to the
    outbox)."""

    __slots__ = ("_tx",)

    def __init__(self, tx: MessageTx) -> None:
        self._tx = tx

    async def find_by_key(self, user_id: str, key: str) -> tuple[Order, str] | None:
        row = await self._tx.fetch_one(
            SELECT + "WHERE user_id = :u AND idempotency_key = :k",
            {"u": user_id, "k": key})
        return None if row is None else (order_from_row(row), row["request_hash"])

    async def find_by_cart(self, user_id: str, cart_version: int) -> Order | None:
        row = await self._tx.fetch_one(
            SELECT + "WHERE user_id = :u AND cart_version = :v",
            {"u": user_id, "v": cart_version})
        return None if row is None else order_from_row(row)

    async def insert(self, order: Order, saga: Saga, *, idempotency_key: str, request_hash: str,
                     card_token: str, trace_parent: str, journal: JournalEntry,
                     cart_version: int | None = None) -> bool:
        return await self._written(INSERT, INSERT_JOURNALED, order.id, journal, {
            "id": order.id, "user_id": order.user_id, "key": idempotency_key,
            "hash": request_hash, "card_token": card_token, "status": str(saga.status),
            "step": str(saga.step), "attempt": saga.attempt, "deadline_at": saga.deadline_at,
            "payment_requested": int(saga.payment_requested), "total_minor": order.total_minor,
            "currency": order.currency, "lines": _lines_json(order.lines), "now": order.created_at,
            "trace_parent": trace_parent, "cart_version": cart_version})

    async def load(self, order_id: str) -> SagaRecord | None:
        # a batch's replies (correlated by order id) read their sagas in one statement
        ahead = await self._tx.read_ahead(order_id, _sagas_of)
        if ahead is not None and order_id in ahead:
            row = ahead.pop(order_id)
        else:
            row = await self._tx.fetch_one(SELECT + "WHERE id = :id", {"id": order_id})
        return None if row is None else _record(row)

    async def save(self, saga: Saga, *, now: float, journal: JournalEntry) -> bool:
        cancelled = saga.status is Status.CANCELLED
        return await self._written(SAVE_CANCELLED if cancelled else SAVE,
                                   SAVE_CANCELLED_JOURNALED if cancelled else SAVE_JOURNALED,
                                   saga.order_id, journal, {
            "id": saga.order_id, "status": str(saga.status), "step": str(saga.step),
            "attempt": saga.attempt, "deadline_at": saga.deadline_at,
            "payment_requested": int(saga.payment_requested), "reason": saga.reason,
            "version": saga.version, "now": now})

    async def _written(self, alone: str, journaled: str, order_id: str, entry: JournalEntry,
                       params: dict[str, object]) -> bool:
        """Run ``alone`` (a write of one order row) and, if it wrote the row, journal ``entry``:
        one statement on PostgreSQL, two on SQLite (which has no writes inside WITH, and no
        round trips to save)."""
        note = entry.note[:500]
        if self._tx.dialect == "postgresql":
            return await self._tx.execute(journaled, params | {
                "j_step": entry.step, "j_note": note, "j_at": entry.at}) == 1
        if await self._tx.execute(alone, params) != 1:
            return False
        await self.journal(order_id, entry.step, note, entry.at)
        return True

    async def journal(self, order_id: str, step: str, note: str, at: float) -> None:
        await self._tx.execute(JOURNAL, {"order_id": order_id, "step": step, "note": note[:500],
                                         "at": at})

    async def overdue(self, now: float, limit: int) -> list[SagaRecord]:
        rows = await self._tx.fetch_all(
            SELECT + "WHERE deadline_at IS NOT NULL AND deadline_at < :now "
            "ORDER BY deadline_at LIMIT :limit", {"now": now, "limit": limit})
        return [_record(r) for r in rows]

    async def get(self, order_id: str) -> Order | None:
        row = await self._tx.fetch_one(SELECT + "WHERE id = :id", {"id": order_id})
        return None if row is None else order_from_row(row)

    async def page_of_user(self, user_id: str, *, before: str | None,
                           limit: int) -> list[Order]:
        where = "WHERE user_id = :u" + (" AND id < :before" if before else "")
        rows = await self._tx.fetch_all(SELECT + where + " ORDER BY id DESC LIMIT :limit",
                                        {"u": user_id, "before": before, "limit": limit})
        return [order_from_row(r) for r in rows]

    async def page(self, *, after: str | None, limit: int) -> list[Order]:
        where = "WHERE id > :after" if after else ""
        rows = await self._tx.fetch_all(SELECT + where + " ORDER BY id LIMIT :limit",
                                        {"after": after, "limit": limit})
        return [order_from_row(r) for r in rows]

    async def statuses(self, order_ids: Sequence[str]) -> dict[str, Status]:
        if not order_ids:
            return {}
        where, params = one_of(self._tx.dialect, "id", order_ids)
        rows = await self._tx.fetch_all(_STATUSES + where, params)
        return {row["id"]: Status(row["status"]) for row in rows}

    async def journal_of(self, order_id: str) -> list[JournalEntry]:
        rows = await self._tx.fetch_all(
            "SELECT step, note, at FROM saga_journal WHERE order_id = :id ORDER BY seq",
            {"id": order_id})
        return [JournalEntry(r["step"], r["note"], float(r["at"])) for r in rows]

    def publish(self, message: Message, *, msg_id: str, correlation_id: str) -> None:
        self._tx.publish(message, msg_id=msg_id, correlation_id=correlation_id)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._tx.after_commit(callback)
