"""The mailbox, and the messaging tables (outbox, inbox, dead letters).

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

``UNIQUE(order_id, kind)`` makes a message exactly one per order and kind; the partial unique
index on ``order_id`` over the terminal kinds makes it at most one terminal message per order
(a confirmation never follows a cancellation, or the other way round). Both are portable:
SQLite and PostgreSQL have partial indexes, and ``INSERT … ON CONFLICT DO NOTHING`` respects both.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chassis.messaging.schema import create_messaging_tables, drop_messaging_tables

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TERMINAL = sa.text("kind IN ('order-confirmed', 'order-cancelled')")


def upgrade() -> None:
    create_messaging_tables(op)
    op.create_table(
        "messages",
        sa.Column("id", sa.String(36), primary_key=True),  # time-ordered (chassis.ids)
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("order_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("order_id", "kind", name="uq_messages_order_kind"),
    )
    op.create_index("uq_messages_terminal_order", "messages", ["order_id"], unique=True,
                    sqlite_where=_TERMINAL, postgresql_where=_TERMINAL)
    # a user's mailbox, newest first
    op.create_index("ix_messages_user_id_id", "messages", ["user_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_user_id_id", table_name="messages")
    op.drop_index("uq_messages_terminal_order", table_name="messages")
    op.drop_table("messages")
    drop_messaging_tables(op)
