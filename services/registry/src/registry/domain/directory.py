"""The directory of live instances: registration, heartbeats, health verdicts, eviction.

Pure state machine: the caller passes the clock, so every rule is testable without waiting.
Every change bumps ``version``; watchers compare versions to learn that something changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = ["CRITICAL", "PASSING", "Directory", "Instance", "NotYourInstance", "UnknownInstance"]

PASSING = "passing"
CRITICAL = "critical"


class UnknownInstance(Exception):
    """The registry holds no instance with this id (never registered, deregistered or evicted)."""


class NotYourInstance(Exception):
    """The instance id belongs to another service: only that service may change it."""


@dataclass(frozen=True, slots=True)
class Instance:
    instance_id: str
    service: str
    url: str
    status: str
    registered_at: float
    last_heartbeat: float
    metadata: dict[str, str] = field(default_factory=dict)
    failures: int = 0
    restarts: int = 0  # registrations again by a new process (another ``started_at``)


def _restarts(old: Instance | None, metadata: dict[str, str]) -> int:
    """How often this instance id was registered by a new process: its ``started_at`` (the
    chassis sends its process's start time) differs from the one registered before. An
    instance that deregistered (a graceful stop) starts again from zero."""
    if old is None:
        return 0
    before, now = old.metadata.get("started_at"), metadata.get("started_at")
    return old.restarts + 1 if before and now and before != now else old.restarts


class Directory:
    """All registered instances, keyed by instance id."""

    def __init__(self, *, ttl: float, failure_threshold: int, keep_gone: float = 300.0) -> None:
        self.ttl = ttl
        self.failure_threshold = failure_threshold
        self.keep_gone = keep_gone
        self.version = 0
        self._instances: dict[str, Instance] = {}
        # evicted (no heartbeat: a crash, a hang), by id, with when: still a scrape target for
        # ``keep_gone`` seconds, so that monitoring sees it down rather than not at all
        self._gone: dict[str, tuple[Instance, float]] = {}

    def register(self, instance_id: str, service: str, url: str, metadata: dict[str, str],
                 now: float) -> tuple[Instance, bool]:
        """Add or replace an instance; it registers once it serves, so it starts as passing.

        Returns the instance and whether the visible directory changed.
        """
        old = self._owned(instance_id, service)
        self._gone.pop(instance_id, None)
        inst = Instance(instance_id, service, url, PASSING, now if old is None else old.registered_at,
                        now, dict(metadata), restarts=_restarts(old, metadata))
        self._instances[instance_id] = inst
        changed = old is None or (old.service, old.url, old.status, old.metadata, old.restarts) != (
            inst.service, inst.url, inst.status, inst.metadata, inst.restarts)
        if changed:
            self.version += 1
        return inst, changed

    def heartbeat(self, instance_id: str, service: str, now: float) -> Instance:
        inst = self._owned(instance_id, service)
        if inst is None:
            raise UnknownInstance(f"no instance {instance_id!r} is registered")
        inst = replace(inst, last_heartbeat=now)
        self._instances[instance_id] = inst
        return inst

    def deregister(self, instance_id: str, service: str) -> bool:
        if self._owned(instance_id, service) is None:
            return False
        del self._instances[instance_id]  # a planned stop: not missed
        self.version += 1
        return True

    def _owned(self, instance_id: str, service: str) -> Instance | None:
        """The instance, if any; NotYourInstance when another service registered it (a service
        may not take over, keep alive or remove another's instance)."""
        inst = self._instances.get(instance_id)
        if inst is not None and inst.service != service:
            raise NotYourInstance(f"instance {instance_id!r} belongs to another service")
        return inst

    def record_check(self, instance_id: str, ok: bool, *, definitive: bool = False) -> bool:
        """Apply one active health-check result; True when the status flipped.

        ``failure_threshold`` consecutive failures mark an instance critical; a ``definitive``
        failure (connection refused: nothing listens on the port) marks it at once. One success
        brings it back.
        """
        inst = self._instances.get(instance_id)
        if inst is None:
            return False
        if ok:
            updated = replace(inst, failures=0, status=PASSING)
        else:
            failures = inst.failures + 1
            critical = definitive or failures >= self.failure_threshold
            updated = replace(inst, failures=failures, status=CRITICAL if critical else inst.status)
        self._instances[instance_id] = updated
        if updated.status != inst.status:
            self.version += 1
            return True
        return False

    def evict_expired(self, now: float) -> list[Instance]:
        """Remove instances whose last heartbeat is older than the TTL."""
        expired = [i for i in self._instances.values() if now - i.last_heartbeat > self.ttl]
        for inst in expired:
            del self._instances[inst.instance_id]
            self._gone[inst.instance_id] = (inst, now)
        if expired:
            self.version += 1
        return expired

    def get(self, instance_id: str) -> Instance:
        inst = self._instances.get(instance_id)
        if inst is None:
            raise UnknownInstance(f"no instance {instance_id!r} is registered")
        return inst

    def all(self) -> list[Instance]:
        return sorted(self._instances.values(), key=lambda i: (i.service, i.instance_id))

    def recently_gone(self, now: float) -> list[Instance]:
        """The instances evicted within ``keep_gone`` seconds and not registered since (older
        ones are forgotten here)."""
        for instance_id in [i for i, (_, at) in self._gone.items() if now - at > self.keep_gone]:
            del self._gone[instance_id]
        return sorted((inst for inst, _ in self._gone.values()),
                      key=lambda i: (i.service, i.instance_id))

    def of_service(self, service: str) -> list[Instance]:
        return [i for i in self.all() if i.service == service]

    def restore(self, instances: list[Instance], now: float) -> None:
        """Load persisted instances after a restart, giving each a fresh heartbeat window."""
        for inst in instances:
            self._instances[inst.instance_id] = replace(inst, last_heartbeat=now, failures=0)
        self.version += 1
