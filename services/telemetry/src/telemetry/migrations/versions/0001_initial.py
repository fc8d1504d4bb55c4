"""Spans, per-trace summaries and the services seen.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Portable types only, so the same revision runs on SQLite and PostgreSQL. Ids are lower-case hex;
times are Unix nanoseconds; attributes, events and the services list are JSON text.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spans",
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(16), nullable=False),
        sa.Column("parent_span_id", sa.String(16), nullable=True),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("instance", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_ns", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=False),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_spans"),
    )
    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(32), primary_key=True),
        # the span without a parent; until it arrives, the earliest span (has_root false)
        sa.Column("root_service", sa.Text(), nullable=False),
        sa.Column("root_name", sa.Text(), nullable=False),
        sa.Column("has_root", sa.Boolean(), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_ns", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("span_count", sa.Integer(), nullable=False),
        sa.Column("services", sa.Text(), nullable=False),
        sa.Column("error", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=True),
    )
    # newest-first search and keyset pages; oldest-first pruning reads the same index backwards
    op.create_index("ix_traces_start", "traces", ["start_ns", "trace_id"])
    op.create_index("ix_traces_order_id", "traces", ["order_id"])
    op.create_table(
        "services",
        sa.Column("name", sa.Text(), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("services")
    op.drop_index("ix_traces_order_id", table_name="traces")
    op.drop_index("ix_traces_start", table_name="traces")
    op.drop_table("traces")
    op.drop_table("spans")
