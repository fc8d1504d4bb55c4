"""A pending payment is claimed by the one instance that asks the processor for it, for a lease:
``claimed_by`` (the instance id) and ``claimed_until`` (epoch seconds) on the projection.

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
    op.add_column("payments", sa.Column("claimed_by", sa.String(200), nullable=True))
    op.add_column("payments", sa.Column("claimed_until", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("payments", "claimed_until")
    op.drop_column("payments", "claimed_by")
