"""Each handler failure of a message is counted, so the dead-letter decision survives a restart
and ignores redeliveries after the ack wait (chassis.messaging.schema.create_message_failures_table).

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

from chassis.messaging.schema import create_message_failures_table

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_message_failures_table(op)


def downgrade() -> None:
    op.drop_table("message_failures")
