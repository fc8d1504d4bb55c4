"""Categories and products.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Portable types only, so the same revision runs on SQLite and PostgreSQL. Ids are UUID strings
(time-ordered, from chassis.ids); prices are integer minor units.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("slug", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        # name and description case-folded by the application: what text search looks in
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("price_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("price_currency", sa.String(3), nullable=False),
        sa.Column("category_slug", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("sku", name="uq_products_sku"),
        sa.ForeignKeyConstraint(["category_slug"], ["categories.slug"],
                                name="fk_products_category_slug"),
        sa.CheckConstraint("price_amount_minor >= 0", name="ck_products_price_not_negative"),
    )
    # the listing order, for keyset pagination over everything and within one category
    op.create_index("ix_products_name_id", "products", ["name", "id"])
    op.create_index("ix_products_category_name_id", "products", ["category_slug", "name", "id"])


def downgrade() -> None:
    op.drop_index("ix_products_category_name_id", table_name="products")
    op.drop_index("ix_products_name_id", table_name="products")
    op.drop_table("products")
    op.drop_table("categories")
