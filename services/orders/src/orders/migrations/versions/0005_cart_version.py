"""An order remembers the version of the cart it was taken from, which its OrderConfirmed
carries, so the cart removes only the lines the buyer has not changed since. Null for orders
placed before (their confirmation carries none, and the cart takes the ordered quantities off).

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("cart_version", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("cart_version")
