"""What each add's Idempotency-Key was used for (`cart_add_keys.request`, e.g. `add 2 PAN-0001`):
the same key sent again for another add is refused (422) rather than answered as if made. Keys
recorded before have none, and are taken as made.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cart_add_keys", sa.Column("request", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cart_add_keys") as batch:
        batch.drop_column("request")
