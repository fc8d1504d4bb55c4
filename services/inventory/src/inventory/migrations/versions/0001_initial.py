"""Stock, reservations, and the messaging tables (outbox, inbox, dead letters).

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Portable types only, so the same revision runs on SQLite and PostgreSQL. The CHECK constraints
are the stock invariant itself: nothing negative, and ``initial = available + reserved + sold``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chassis.messaging.schema import create_messaging_tables, drop_messaging_tables

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("ACTIVE", "RELEASED", "COMMITTED", "EXPIRED", "REJECTED")


def upgrade() -> None:
    op.create_table(
        "stock",
        sa.Column("sku", sa.String(32), primary_key=True),
        sa.Column("initial", sa.BigInteger(), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("sold", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("available >= 0", name="ck_stock_available_not_negative"),
        sa.CheckConstraint("reserved >= 0", name="ck_stock_reserved_not_negative"),
        sa.CheckConstraint("sold >= 0", name="ck_stock_sold_not_negative"),
        sa.CheckConstraint("initial = available + reserved + sold", name="ck_stock_balanced"),
    )
    op.create_table(
        "reservations",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        # [{"sku", "quantity"}], one entry per SKU; empty for a tombstone
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})",
                           name="ck_reservations_status"),
    )
    # what the TTL sweeper scans: only the live holds, oldest first
    op.create_index("ix_reservations_active_expires_at", "reservations", ["expires_at"],
                    sqlite_where=sa.text("status = 'ACTIVE'"),
                    postgresql_where=sa.text("status = 'ACTIVE'"))
    create_messaging_tables(op)


def downgrade() -> None:
    drop_messaging_tables(op)
    op.drop_index("ix_reservations_active_expires_at", table_name="reservations")
    op.drop_table("reservations")
    op.drop_table("stock")
