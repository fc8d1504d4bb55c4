"""The keys of adds already made (`POST /v1/cart/items` with an `Idempotency-Key`): the same key
again adds nothing, so a form sent twice (a double click, a resend after a lost answer) adds
once. A user's keys older than a day go when the user next adds with a key.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cart_add_keys",
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_cart_add_keys"),
    )


def downgrade() -> None:
    op.drop_table("cart_add_keys")
