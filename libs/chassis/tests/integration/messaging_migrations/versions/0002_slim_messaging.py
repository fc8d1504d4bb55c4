"""The outbox keeps only what is still to be published; the inbox loses an unread index.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from chassis.messaging.schema import slim_messaging_tables, unslim_messaging_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    slim_messaging_tables(op)


def downgrade() -> None:
    unslim_messaging_tables(op)
