"""One live order per cart version: a unique index on (user_id, cart_version), so a second
checkout of a cart that an order is already being or has been taken from (another
Idempotency-Key, sent before the cart applied that order's confirmation) places nothing (409
orders/cart-already-ordered). A cancelled order lets go of its version (orders sets it NULL as
it cancels, and here for those cancelled before), so the same cart can be ordered again; an order
without a version (placed before 0005) is not in the index. The index names no column the saga's
steps change, so they do not touch it.

Orders placed before this revision may hold one cart twice (the race the index closes); the
index then starts after the last of them (``created_at >`` its time), so it builds on any data.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD = "cart_version IS NOT NULL"


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE orders SET cart_version = NULL WHERE status = 'CANCELLED' "
                         "AND cart_version IS NOT NULL"))
    twice = bind.execute(sa.text(
        "SELECT max(o.created_at) FROM orders o JOIN (SELECT user_id, cart_version FROM orders "
        f"WHERE {HELD} GROUP BY user_id, cart_version HAVING count(*) > 1) d "
        "ON o.user_id = d.user_id AND o.cart_version = d.cart_version")).scalar()
    where = HELD if twice is None else f"{HELD} AND created_at > {float(twice)!r}"
    op.create_index("orders_one_per_cart", "orders", ["user_id", "cart_version"], unique=True,
                    sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    op.drop_index("orders_one_per_cart", "orders")
