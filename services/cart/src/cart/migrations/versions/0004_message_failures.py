"""Each handler failure of a message is counted, so the dead-letter decision survives a restart
and ignores redeliveries after the ack wait (chassis.messaging.schema.create_message_failures_table).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

from chassis.messaging.schema import create_message_failures_table

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_message_failures_table(op)


def downgrade() -> None:
    op.drop_table("message_failures")
