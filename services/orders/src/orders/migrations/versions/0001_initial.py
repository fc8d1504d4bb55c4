"""Orders with their saga state, the saga's step journal, and the messaging tables.

Revision ID: 0001
Revises:
Create Date: 2026-12-01 00:00:00

The saga lives in the order row (status, step, attempt, deadline, version for optimistic
concurrency) so that each transition is one row update, one journal row and its outbox rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chassis.messaging.schema import create_messaging_tables

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("card_token", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("deadline_at", sa.Float(), nullable=True),
        sa.Column("payment_requested", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        # W3C traceparent of the checkout, so deadline work done later joins the same trace
        sa.Column("trace_parent", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("user_id", "idempotency_key", name="orders_idempotency"),
    )
    op.create_index("orders_by_user", "orders", ["user_id", "id"])
    op.create_index("orders_due", "orders", ["deadline_at"],
                    sqlite_where=sa.text("deadline_at IS NOT NULL"),
                    postgresql_where=sa.text("deadline_at IS NOT NULL"))
    op.create_table(
        "saga_journal",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index("saga_journal_by_order", "saga_journal", ["order_id", "seq"])
    create_messaging_tables(op)


def downgrade() -> None:
    op.drop_table("saga_journal")
    op.drop_table("orders")
