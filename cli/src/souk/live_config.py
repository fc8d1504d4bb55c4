"""``souk config``'s store: one connection to NATS per command; the reading, validating and
writing are :mod:`chassis.live.admin`'s (the web console's too).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from chassis.live.admin import ConfigError, Refused, Store, parse_value
from chassis.live.overview import ServiceDoc, Setting
from chassis.live.store import open_bucket, open_services
from souk.state import State

__all__ = ["ConfigError", "Refused", "ServiceDoc", "Setting", "Store", "open_store", "parse_value",
           "store_of"]


@contextlib.asynccontextmanager
async def open_store(nats_url: str, *, replicas: int = 1,
                     running: frozenset[str] | None = None) -> AsyncIterator[Store]:
    """The live configuration's buckets (created on ``replicas`` nodes when missing);
    ``running``: the instances that run now, the only ones whose running values are read."""
    from souk.dlq import jetstream  # the broker's client: imported by the commands that use it

    async with jetstream(nats_url, error=ConfigError, name="souk-config") as js:
        yield Store(await open_bucket(js, replicas=replicas),
                    await open_services(js, replicas=replicas), running=running)


def store_of(state: State) -> contextlib.AbstractAsyncContextManager[Store]:
    """The store of the platform ``state`` describes, reading the running values of the
    instances that run now only: one scaled away, or exited and held, last published what it
    ran with then."""
    running = frozenset(p.instance for p in state.processes
                        if p.status in ("starting", "running", "paused"))
    return open_store(state.nats_url, replicas=state.stream_replicas, running=running)
