"""The body of every service's Alembic ``env.py``: run on the connection ``migrate`` passes in."""

from __future__ import annotations

__all__ = ["run"]


def run() -> None:
    """Run pending revisions inside the caller's connection (online mode only)."""
    from alembic import context

    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through chassis.db.migrate(), not the alembic CLI")
    context.configure(connection=connection,
                      render_as_batch=connection.dialect.name == "sqlite",
                      transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
