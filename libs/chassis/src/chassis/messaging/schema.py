"""The messaging tables every messaging service creates in its own first migration.

A new service creates them as they stand now in one call, :func:`create_current_messaging_tables`.
The services that came first reached the same tables in four revisions (the functions below, in
their migrations 0001 to 0004); the tests hold that both ways make the same schema.

* ``outbox``: messages written in the same transaction as the state change that caused them;
  the relay deletes a row once JetStream acknowledged it, so the table holds only what is still
  to be published (:func:`slim_messaging_tables`, a service's second messaging migration: the
  first version kept published rows for ten minutes, marked ``published_at``, which cost two
  indexes and three more row writes per message).
* ``inbox``: ``(consumer, msg_id)`` of every message applied, written in the same transaction as
  its effect, so a redelivery is recognised and skipped. Kept for ``inbox_retention``, longer than
  the stream keeps a message, then pruned by its index on ``processed_at``
  (:func:`index_inbox_by_age`, a service's third messaging migration; the second had dropped that
  index when the inbox was kept for good).
* ``dead_letters``: messages given up on, recorded with the outbox row that moves them to the
  dead-letter stream (so every dead letter can be accounted for).
* ``message_failures``: how many times a consumer's handler failed on a message
  (:func:`create_message_failures_table`, a service's fourth messaging migration). The dead-letter
  decision counts these, not JetStream's deliveries (which include redeliveries after the ack
  wait), and they outlive a restart; a row goes when its message is applied or dead-lettered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chassis.db import Database

__all__ = ["MESSAGING_TABLES", "check_messaging_tables", "create_current_messaging_tables",
           "create_message_failures_table", "create_messaging_tables",
           "drop_current_messaging_tables", "drop_messaging_tables", "index_inbox_by_age",
           "slim_messaging_tables", "unindex_inbox_by_age", "unslim_messaging_tables"]

# what the chassis's messaging reads and writes (checked when a service starts)
MESSAGING_TABLES = ("outbox", "inbox", "dead_letters", "message_failures")


def create_current_messaging_tables(op: Any) -> None:
    """A new service's first migration: every messaging table as it stands now."""
    import sqlalchemy as sa

    _create_outbox_table(op)
    _create_per_message_table(op, "inbox", sa.Column("processed_at", sa.Float(), nullable=False))
    index_inbox_by_age(op)
    _create_dead_letters_table(op)
    create_message_failures_table(op)


async def check_messaging_tables(db: Database, service: str) -> None:
    """Refuse to start a service whose database lacks a messaging table: without one, a
    handler that fails is never dead-lettered (``message_failures``), or nothing is sent at all,
    and the service would otherwise look ready."""
    missing = []
    for table in MESSAGING_TABLES:
        try:
            async with db.transaction(readonly=True) as tx:
                await tx.fetch_all(f"SELECT * FROM {table} WHERE 1 = 0")  # noqa: S608 (names above)
        except Exception as exc:
            missing.append(f"{table} ({(str(exc) or type(exc).__name__).splitlines()[0]})")
    if missing:
        raise RuntimeError(
            f"{service}'s database lacks messaging tables: {', '.join(missing)}. A service's "
            "migrations live in its package (src/<name>/migrations), and its first revision "
            "calls chassis.messaging.schema.create_current_messaging_tables(op)")


def drop_current_messaging_tables(op: Any) -> None:
    """Undo :func:`create_current_messaging_tables`."""
    for table in reversed(MESSAGING_TABLES):
        op.drop_table(table)


def create_messaging_tables(op: Any) -> None:
    """The first version of the tables (migration 0001 of the services that came first),
    with Alembic's ``op`` (portable between SQLite and PostgreSQL). A new service calls
    :func:`create_current_messaging_tables` instead."""
    import sqlalchemy as sa

    _create_outbox_table(op, sa.Column("published_at", sa.Float(), nullable=True))
    op.create_index("outbox_pending", "outbox", ["seq"],
                    sqlite_where=sa.text("published_at IS NULL"),
                    postgresql_where=sa.text("published_at IS NULL"))
    op.create_index("outbox_published", "outbox", ["published_at"])
    _create_per_message_table(op, "inbox", sa.Column("processed_at", sa.Float(), nullable=False))
    index_inbox_by_age(op)
    _create_dead_letters_table(op)


def _create_outbox_table(op: Any, *more: Any) -> None:
    import sqlalchemy as sa

    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("msg_id", sa.String(200), nullable=False, unique=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        *more,
    )


def _create_dead_letters_table(op: Any) -> None:
    import sqlalchemy as sa

    _create_per_message_table(
        op, "dead_letters",
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("dead_at", sa.Float(), nullable=False),
    )


def _create_per_message_table(op: Any, name: str, *columns: Any) -> None:
    """A table of a row per message a consumer handled, keyed by ``(consumer, msg_id)``."""
    import sqlalchemy as sa

    op.create_table(name, sa.Column("consumer", sa.String(100), primary_key=True),
                    sa.Column("msg_id", sa.String(200), primary_key=True), *columns)


def slim_messaging_tables(op: Any) -> None:
    """The outbox without published rows (drop them, their column and its two indexes), and the
    inbox without its unread index on ``processed_at``."""
    op.execute("DELETE FROM outbox WHERE published_at IS NOT NULL")
    op.drop_index("outbox_published", table_name="outbox")
    op.drop_index("outbox_pending", table_name="outbox")
    op.drop_column("outbox", "published_at")
    unindex_inbox_by_age(op)


def unslim_messaging_tables(op: Any) -> None:
    """Undo :func:`slim_messaging_tables` (every outbox row left is unpublished)."""
    import sqlalchemy as sa

    index_inbox_by_age(op)
    op.add_column("outbox", sa.Column("published_at", sa.Float(), nullable=True))
    op.create_index("outbox_pending", "outbox", ["seq"],
                    sqlite_where=sa.text("published_at IS NULL"),
                    postgresql_where=sa.text("published_at IS NULL"))
    op.create_index("outbox_published", "outbox", ["published_at"])


def index_inbox_by_age(op: Any) -> None:
    """The inbox index the pruning reads (``processed_at``)."""
    op.create_index("inbox_processed_at", "inbox", ["processed_at"])


def unindex_inbox_by_age(op: Any) -> None:
    """Undo :func:`index_inbox_by_age`."""
    op.drop_index("inbox_processed_at", table_name="inbox")


def create_message_failures_table(op: Any) -> None:
    """``message_failures``: ``(consumer, msg_id)`` → failures so far, the last error, when."""
    import sqlalchemy as sa

    _create_per_message_table(
        op, "message_failures",
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("failed_at", sa.Float(), nullable=False),
    )


def drop_messaging_tables(op: Any) -> None:
    for table in ("dead_letters", "inbox", "outbox"):
        op.drop_table(table)
