"""Messaging tables plus one table the test handlers write to.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from chassis.messaging.schema import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op)
    op.create_table("effects", sa.Column("msg_id", sa.String(200), primary_key=True),
                    sa.Column("value", sa.Integer(), nullable=False))


def downgrade() -> None:
    op.drop_table("effects")
