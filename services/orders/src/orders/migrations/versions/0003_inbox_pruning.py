"""The inbox is pruned by age: its index on processed_at
(chassis.messaging.schema.index_inbox_by_age).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

from chassis.messaging.schema import index_inbox_by_age, unindex_inbox_by_age

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    index_inbox_by_age(op)


def downgrade() -> None:
    unindex_inbox_by_age(op)
