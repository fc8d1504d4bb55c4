"""The outbox keeps only what is still to be published; the inbox loses an unread index
(chassis.messaging.schema.slim_messaging_tables).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

from chassis.messaging.schema import slim_messaging_tables, unslim_messaging_tables

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    slim_messaging_tables(op)


def downgrade() -> None:
    unslim_messaging_tables(op)
