"""The payment event store, its projection, and the messaging tables.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Portable types only, so the same revision runs on SQLite and PostgreSQL. ``payment_events`` is
append-only; its primary key ``(stream_id, version)`` is the optimistic concurrency check.
``payments`` is a projection of the streams, rewritten in the same transaction as each append.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chassis.messaging.schema import create_messaging_tables, drop_messaging_tables

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_events",
        sa.Column("stream_id", sa.String(100), primary_key=True),  # the order id
        sa.Column("version", sa.Integer(), primary_key=True),  # 1, 2, 3 … within the stream
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),  # JSON
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name="ck_payment_events_version_positive"),
    )
    op.create_table(
        "payments",
        sa.Column("order_id", sa.String(100), primary_key=True),
        sa.Column("user_id", sa.String(100), nullable=True),  # unknown while only a void is known
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("authorized_minor", sa.BigInteger(), nullable=False),
        sa.Column("captured_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("captures", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # a user's listing, newest first, by keyset; and the sweep's look for pending payments
    op.create_index("ix_payments_user_created", "payments", ["user_id", "created_at", "order_id"])
    op.create_index("ix_payments_status_updated", "payments", ["status", "updated_at"])
    create_messaging_tables(op)


def downgrade() -> None:
    drop_messaging_tables(op)
    op.drop_index("ix_payments_status_updated", table_name="payments")
    op.drop_index("ix_payments_user_created", table_name="payments")
    op.drop_table("payments")
    op.drop_table("payment_events")
