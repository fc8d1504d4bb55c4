"""A service's live settings: the values it runs with now (``live.current``, an attribute read),
kept in step with the store by a watch, applied to the objects that use them by callbacks.

Values start from the static settings; the store overrides them, a service's own key
(``payments.log_level``) over the platform-wide one (``platform.log_level``). A change is
validated here again (the CLI checks first): a value the settings type refuses is logged as
refused and the running value stays. The last good layers are kept in a cache file, so a
service restarted while the store is unreachable starts with them; while the broker is away
the running values simply stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

from chassis.live.model import PLATFORM, LiveSettings, Record, from_static, utc_now
from chassis.live.store import open_bucket, open_services, read_all, revision_of
from chassis.logging import get_logger
from chassis.settings import ServiceSettings
from chassis.tasks import cancel_and_wait

if TYPE_CHECKING:
    from chassis.broker import Broker

__all__ = ["Live"]

log = get_logger(__name__)

L = TypeVar("L", bound=LiveSettings)
Layers = dict[str, dict[str, Any]]  # scope (platform or the service) -> setting -> value


class Live(Generic[L]):
    """The live settings of one service process.

    ``current`` is the values in force (replaced whole on a change, never mutated);
    :meth:`bind` hands them to a callback now and after each change of the fields it names.
    """

    def __init__(self, service: str, instance: str, kind: type[L], static: ServiceSettings, *,
                 cache: Path | None = None) -> None:
        self.service = service
        self.instance = instance
        self.kind = kind
        self.defaults: L = from_static(kind, static)
        self.current: L = self.defaults
        self.revision = 0  # the store's highest revision applied
        self.refused: dict[str, str] = {}  # key -> why its stored value is not applied
        self.fields = frozenset(field.name for field in msgspec.structs.fields(kind))
        self._layers: Layers = {PLATFORM: {}, service: {}}
        self._bindings: list[tuple[frozenset[str] | None, Callable[[L], None]]] = []
        # published with the schema: the routes and message types its fault rules may name
        # (``souk config`` refuses a rule naming another, which would do nothing)
        self.fault_targets: dict[str, list[str]] = {}
        self._cache = cache
        self._replicas = static.stream_replicas  # of the buckets, when this process creates them
        self._task: asyncio.Task[None] | None = None
        self._services: Any = None  # the bucket this instance publishes in, once opened
        self._restart = asyncio.Event()
        self._loaded = asyncio.Event()
        self._load_cache()

    # -- reading ---------------------------------------------------------------------------------

    def sources(self) -> dict[str, str]:
        """Where each running value comes from: ``service`` (its own key), ``platform`` (the
        platform-wide key) or ``static`` (file/env, or the default)."""
        own, platform = self._layers[self.service], self._layers[PLATFORM]
        return {name: "service" if name in own else "platform" if name in platform else "static"
                for name in sorted(self.fields)}

    def overridden(self, *fields: str) -> bool:
        """Whether one of ``fields`` runs with another value than the static one (an object
        built from the static settings needs it now)."""
        return any(getattr(self.current, name) != getattr(self.defaults, name)
                   for name in fields)

    def bind(self, callback: Callable[[L], None], *fields: str, now: bool = True) -> None:
        """Call ``callback(current)`` now (unless ``now`` is False) and whenever one of
        ``fields`` (any field when none is named) changes."""
        unknown = set(fields) - self.fields
        if unknown:
            raise ValueError(f"{self.kind.__name__} has no live setting {sorted(unknown)}")
        self._bindings.append((frozenset(fields) or None, callback))
        if now:
            callback(self.current)

    # -- applying --------------------------------------------------------------------------------

    def apply(self, changes: Iterable[tuple[str, Record]], *, revision: int = 0,
              full: bool = False) -> list[str]:
        """Apply stored changes (``key``, record) in order; with ``full`` they are the whole
        store, and a key of ours missing from them is unset. Each is checked against the
        values so far: a bad one is refused (logged, its running value stays). Returns the
        settings whose value or source changed."""
        layers = {scope: dict(values) for scope, values in self._layers.items()}
        sources = self.sources()
        candidate = self.current
        changes = list(changes)
        if full:
            present = {key for key, _ in changes}
            changes = [(f"{scope}.{name}", Record(unset=True))
                       for scope, values in self._layers.items() for name in values
                       if f"{scope}.{name}" not in present] + changes
        for key, record in changes:
            scope, _, name = key.rpartition(".")
            if scope not in layers:
                continue  # another service's key
            if name not in self.fields:
                if scope == self.service:
                    self._refuse(key, record, f"{self.service} has no live setting {name!r}")
                continue
            trial = {s: dict(v) for s, v in layers.items()}
            if record.unset:
                trial[scope].pop(name, None)
            else:
                trial[scope][name] = record.value
            try:
                candidate = self._merge(trial)
            except (msgspec.ValidationError, ValueError) as exc:
                self._refuse(key, record, str(exc))
                continue
            self.refused.pop(key, None)
            layers = trial
        moved = layers != self._layers
        self._layers = layers
        self.revision = max(self.revision, revision)
        # a key stored or removed at the value in force moves only the source: what reads the
        # source (the trace store's keep ratio), `souk config list` and the cache follow it too
        now = self.sources()
        return self._install(candidate, {name for name in now if now[name] != sources[name]},
                             moved)

    def _merge(self, layers: Layers) -> L:
        values = msgspec.structs.asdict(self.defaults)
        values.update(layers[PLATFORM])
        values.update(layers[self.service])
        return msgspec.convert(values, self.kind, from_attributes=True)

    def _refuse(self, key: str, record: Record, reason: str) -> None:
        self.refused[key] = reason
        log.warning("live setting refused; the running value stays", key=key,
                    value=record.value, by=record.by, reason=reason)

    def _install(self, new: L, moved: set[str], layers_moved: bool) -> list[str]:
        old, self.current = self.current, new
        changed = [name for name in sorted(self.fields)
                   if getattr(old, name) != getattr(new, name)]
        for name in changed:
            log.info("live setting applied", setting=name, old=_plain(getattr(old, name)),
                     new=_plain(getattr(new, name)))
        touched = set(changed) | moved
        if not touched:
            if layers_moved:
                self._save_cache()
            return []
        for fields, callback in self._bindings:
            if fields is None or fields & touched:
                try:
                    callback(new)
                except Exception as exc:  # one object's failure must not stop the others
                    log.error("applying a live setting failed", callback=repr(callback),
                              error=str(exc) or type(exc).__name__)
        self._save_cache()
        return sorted(touched)

    # -- the cache of the last good values -------------------------------------------------------

    def _load_cache(self) -> None:
        if self._cache is None or not self._cache.exists():
            return
        try:
            saved = msgspec.json.decode(self._cache.read_bytes())
            changes = [(f"{scope}.{name}", Record(value=value))
                       for scope in (PLATFORM, self.service)
                       for name, value in saved.get("layers", {}).get(scope, {}).items()]
        except (OSError, msgspec.DecodeError, AttributeError) as exc:
            log.warning("live settings cache unreadable; ignored", file=str(self._cache),
                        error=str(exc))
            return
        self.apply(changes, revision=int(saved.get("revision", 0)))
        log.info("live settings from the cache", file=str(self._cache), revision=self.revision)

    def _save_cache(self) -> None:
        if self._cache is None:
            return
        data = msgspec.json.encode({"service": self.service, "revision": self.revision,
                                    "saved_at": utc_now(), "layers": self._layers})
        temporary = self._cache.with_name(f".{self._cache.name}.{self.instance}.{os.getpid()}")
        try:
            self._cache.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data)
            os.replace(temporary, self._cache)  # whole or not at all, whoever writes last
        except OSError as exc:
            log.warning("live settings cache not written", file=str(self._cache), error=str(exc))

    # -- the watch -------------------------------------------------------------------------------

    async def start(self, broker: Broker, *, wait: float = 2.0) -> None:
        """Watch the store through ``broker``; wait up to ``wait`` seconds for its values (a
        store out of reach leaves the cached or static ones, and the watch keeps trying)."""
        broker.on_reconnect(self._restart.set)
        self._task = asyncio.create_task(self._run(broker), name=f"live-{self.service}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._loaded.wait(), wait)

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        services, self._services = self._services, None
        if services is not None:  # what this instance ran with is no one's any more
            with contextlib.suppress(Exception):
                await asyncio.wait_for(services.delete(self._instance_key()), 1.0)

    async def _run(self, broker: Broker) -> None:
        while True:
            if broker.is_connected:
                self._restart.clear()
                watch = asyncio.create_task(self._watch(broker))
                restart = asyncio.create_task(self._restart.wait())
                try:
                    await asyncio.wait({watch, restart}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    await cancel_and_wait(restart)
                    if not watch.done():  # reconnected: the watch starts again from the store
                        await cancel_and_wait(watch)
                if watch.done() and not watch.cancelled() and watch.exception() is not None:
                    exc = watch.exception()
                    log.warning("live settings watch failed; the running values stay",
                                error=str(exc) or type(exc).__name__)
                    await asyncio.sleep(1.0)
                continue
            with contextlib.suppress(TimeoutError):  # a reconnect wakes us, or try again
                await asyncio.wait_for(self._restart.wait(), 1.0)

    async def _watch(self, broker: Broker) -> None:
        js = broker.jetstream()
        kv = await open_bucket(js, replicas=self._replicas)
        services = self._services = await open_services(js, replicas=self._replicas)
        await services.put(self.service, msgspec.json.encode({
            "service": self.service, "schema": msgspec.json.schema(self.kind),
            "static": self.defaults, "platform_fields": sorted(
                self.fields & {f.name for f in msgspec.structs.fields(LiveSettings)}),
            "fault_targets": self.fault_targets}))
        # the store as it is now, then every change: the watch delivers each key's latest
        # value again first (no change, nothing done), so nothing between the two is missed
        initial = (await read_all(kv)).values()
        self.apply(((r.key, r.record) for r in initial),
                   revision=max((r.revision for r in initial), default=0), full=True)
        self._loaded.set()
        await self._publish(services)
        watcher = await kv.watchall()
        try:
            async for entry in watcher:
                if entry is None:
                    continue
                found = revision_of(entry)
                refused = dict(self.refused)
                if self.apply([(found.key, found.record)], revision=found.revision) or (
                        self.refused != refused):
                    await self._publish(services)
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()

    def _instance_key(self) -> str:
        return f"{self.service}.{re.sub(r'[^A-Za-z0-9_-]', '_', self.instance)}"

    async def _publish(self, services: Any) -> None:
        """Tell ``souk config list`` what this instance runs with."""
        with contextlib.suppress(Exception):
            await services.put(self._instance_key(), msgspec.json.encode({
                "instance": self.instance, "revision": self.revision, "at": utc_now(),
                "running": self.current, "sources": self.sources(), "refused": self.refused}))


def _plain(value: Any) -> Any:
    return msgspec.to_builtins(value)
