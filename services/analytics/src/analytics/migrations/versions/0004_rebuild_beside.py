"""A replay rebuilds beside the live read models: ``order_facts_rebuild`` and
``product_sales_rebuild`` (the same columns), and ``rebuilds``, one row while a rebuild runs (the
live projection then writes both sets; the rebuilt one replaces the live one only when the replay
read the whole stream).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_facts_rebuild",
        sa.Column("order_id", sa.String(100), primary_key=True),
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("placed_at", sa.Float(), nullable=True),
        sa.Column("settled_at", sa.Float(), nullable=True),
    )
    op.create_table(
        "product_sales_rebuild",
        sa.Column("order_id", sa.String(100), primary_key=True),
        sa.Column("sku", sa.String(32), primary_key=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("revenue_minor", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "rebuilds",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("started_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rebuilds")
    op.drop_table("product_sales_rebuild")
    op.drop_table("order_facts_rebuild")
