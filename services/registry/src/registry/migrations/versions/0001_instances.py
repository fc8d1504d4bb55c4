"""instances table

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("instance_id", sa.String(128), primary_key=True),
        sa.Column("service", sa.String(64), nullable=False, index=True),
        sa.Column("url", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("registered_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("instances")
