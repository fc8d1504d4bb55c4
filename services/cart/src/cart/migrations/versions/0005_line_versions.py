"""Each cart line records the cart's version when the buyer last set it, so a confirmed order
removes only the lines not set since the version it was taken from (a line refilled for the next
order stays). Null for lines set before: the order's quantities are taken off those instead.

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
    op.add_column("cart_items", sa.Column("version", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cart_items") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("version")
