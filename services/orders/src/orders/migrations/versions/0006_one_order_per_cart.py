"""One live order per cart version: a unique index on (user_id, cart_version) over the orders
that are not CANCELLED, so a second checkout of a cart that an order is already being or has
been taken from (another Idempotency-Key, sent before the cart applied that order's
confirmation) places nothing (409 orders/cart-already-ordered). A cancelled order leaves the
index, so the same cart can be ordered again; an order without a cart version (placed before
0005) is not in it.

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

LIVE = "cart_version IS NOT NULL AND status <> 'CANCELLED'"


def upgrade() -> None:
    twice = op.get_bind().execute(sa.text(
        "SELECT max(o.created_at) FROM orders o JOIN (SELECT user_id, cart_version FROM orders "
        f"WHERE {LIVE} GROUP BY user_id, cart_version HAVING count(*) > 1) d "
        "ON o.user_id = d.user_id AND o.cart_version = d.cart_version")).scalar()
    where = LIVE if twice is None else f"{LIVE} AND created_at > {float(twice)!r}"
    op.create_index("orders_one_per_cart", "orders", ["user_id", "cart_version"], unique=True,
                    sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    op.drop_index("orders_one_per_cart", "orders")
