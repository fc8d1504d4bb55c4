"""Database per service: one small unit-of-work API over SQLite (default) or PostgreSQL.

``async with db.transaction() as tx:`` is the unit of work: everything inside commits together or
not at all. SQL is plain text with ``:name`` parameters, portable between both engines.
"""

from chassis.db.base import Database, Row, Transaction, UnstorableText, one_of, open_database
from chassis.db.migrate import migrate, service_migrations
from chassis.db.uow import SqlUnitOfWork, UnitOfWork

__all__ = ["Database", "Row", "SqlUnitOfWork", "Transaction", "UnitOfWork", "UnstorableText",
           "migrate", "one_of", "open_database", "service_migrations"]
