"""Carts, their lines, and the messaging tables.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Portable types only, so the same revision runs on SQLite and PostgreSQL. Prices are not stored:
they belong to the catalog and are looked up (and cached in memory) when a cart is shown.
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
        "carts",
        sa.Column("user_id", sa.String(100), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "cart_items",
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "sku", name="pk_cart_items"),
        sa.CheckConstraint("quantity BETWEEN 1 AND 99", name="ck_cart_items_quantity"),
    )
    create_messaging_tables(op)


def downgrade() -> None:
    from chassis.messaging.schema import drop_messaging_tables

    drop_messaging_tables(op)
    op.drop_table("cart_items")
    op.drop_table("carts")
