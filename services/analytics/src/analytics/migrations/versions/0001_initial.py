"""The read models (order facts, product sales) and the messaging tables.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Both tables are projections of orders' events, rebuilt by replay; nothing else writes them.
Times are Unix seconds as the events carry them; amounts are integer minor units; ``lines`` is
the order's lines as JSON text (portable: no JSON column type on SQLite).
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
    create_messaging_tables(op)
    op.create_table(
        "order_facts",
        sa.Column("order_id", sa.String(100), primary_key=True),
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("placed_at", sa.Float(), nullable=True),
        sa.Column("settled_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_order_facts_status", "order_facts", ["status", "currency"])
    op.create_table(
        "product_sales",
        sa.Column("order_id", sa.String(100), primary_key=True),
        sa.Column("sku", sa.String(32), primary_key=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("revenue_minor", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("product_sales")
    op.drop_index("ix_order_facts_status", table_name="order_facts")
    op.drop_table("order_facts")
    drop_messaging_tables(op)
