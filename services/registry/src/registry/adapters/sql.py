"""The registry's own database: one row per registered instance (heartbeats stay in memory)."""

from __future__ import annotations

import msgspec

from chassis.db import Transaction
from registry.domain.directory import Instance
from registry.service.ports import InstanceRepository

__all__ = ["SqlInstances"]

_UPSERT = """
INSERT INTO instances (instance_id, service, url, status, metadata, registered_at, restarts)
VALUES (:instance_id, :service, :url, :status, :metadata, :registered_at, :restarts)
ON CONFLICT (instance_id) DO UPDATE SET
  service = excluded.service, url = excluded.url, status = excluded.status,
  metadata = excluded.metadata, registered_at = excluded.registered_at,
  restarts = excluded.restarts
"""
_METADATA = msgspec.json.Decoder(dict[str, str])


class SqlInstances(InstanceRepository):
    """The instances table through one transaction."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def load(self) -> list[Instance]:
        rows = await self._tx.fetch_all(
            "SELECT instance_id, service, url, status, metadata, registered_at, restarts "
            "FROM instances")
        return [Instance(r["instance_id"], r["service"], r["url"], r["status"],
                         float(r["registered_at"]), float(r["registered_at"]),
                         _METADATA.decode(r["metadata"]), restarts=int(r["restarts"]))
                for r in rows]

    async def save(self, instance: Instance) -> None:
        await self._tx.execute(_UPSERT, {
            "instance_id": instance.instance_id, "service": instance.service,
            "url": instance.url, "status": instance.status,
            "metadata": msgspec.json.encode(instance.metadata).decode(),
            "registered_at": instance.registered_at, "restarts": instance.restarts})

    async def delete(self, instance_ids: list[str]) -> None:
        await self._tx.execute_many("DELETE FROM instances WHERE instance_id = :instance_id",
                                    [{"instance_id": i} for i in instance_ids])
