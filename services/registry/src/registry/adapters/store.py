"""The registry's own database: one row per registered instance (heartbeats stay in memory)."""

from __future__ import annotations

import orjson

from chassis.db import Database
from registry.domain.directory import Instance

__all__ = ["SqlInstanceStore"]

_UPSERT = """
INSERT INTO instances (instance_id, service, url, status, metadata, registered_at)
VALUES (:instance_id, :service, :url, :status, :metadata, :registered_at)
ON CONFLICT (instance_id) DO UPDATE SET
  service = excluded.service, url = excluded.url, status = excluded.status,
  metadata = excluded.metadata, registered_at = excluded.registered_at
"""


class SqlInstanceStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self) -> list[Instance]:
        async with self.db.transaction(readonly=True) as tx:
            rows = await tx.fetch_all(
                "SELECT instance_id, service, url, status, metadata, registered_at FROM instances")
        return [Instance(r["instance_id"], r["service"], r["url"], r["status"],
                         float(r["registered_at"]), float(r["registered_at"]),
                         orjson.loads(r["metadata"])) for r in rows]

    async def save(self, instance: Instance) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(_UPSERT, {
                "instance_id": instance.instance_id, "service": instance.service,
                "url": instance.url, "status": instance.status,
                "metadata": orjson.dumps(instance.metadata).decode(),
                "registered_at": instance.registered_at})

    async def delete(self, instance_ids: list[str]) -> None:
        async with self.db.transaction() as tx:
            await tx.execute_many("DELETE FROM instances WHERE instance_id = :instance_id",
                                  [{"instance_id": i} for i in instance_ids])
