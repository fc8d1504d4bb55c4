"""Handler failures counted per message.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from chassis.messaging.schema import create_message_failures_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_message_failures_table(op)


def downgrade() -> None:
    op.drop_table("message_failures")
