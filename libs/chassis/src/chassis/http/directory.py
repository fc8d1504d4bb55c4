"""Where the service client finds instances: :class:`chassis.discovery.Discovery` (the registry),
or a fixed :class:`StaticDirectory` (Kubernetes DNS names, a test's servers)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from chassis.discovery import Balancer, Instance, RoundRobin

__all__ = ["Directory", "StaticDirectory"]


class Directory(Protocol):
    """What the client needs of :class:`chassis.discovery.Discovery`."""

    def pick(self, service: str, *, exclude: frozenset[str] = ...) -> Instance | None: ...

    def balancer(self, service: str) -> Balancer: ...

    def eject(self, instance_id: str, seconds: float) -> None: ...


class StaticDirectory:
    """Fixed base URLs per service, round-robin, no ejection (server-side discovery: the URL is
    a load-balanced name such as a Kubernetes Service). Services it has no URL for are looked up
    in ``fallback`` (the registry's discovery) when there is one."""

    def __init__(self, urls: Mapping[str, str | Iterable[str]],
                 fallback: Directory | None = None) -> None:
        self._fallback = fallback
        self._instances: dict[str, tuple[Instance, ...]] = {}
        for service, found in urls.items():
            listed = [found] if isinstance(found, str) else list(found)
            self._instances[service] = tuple(
                Instance(f"{service}-{i}", service, url.rstrip("/")) for i, url in enumerate(listed))
        self._own_ids = frozenset(i.instance_id for found in self._instances.values()
                                  for i in found)
        self._balancers: dict[str, Balancer] = {}

    def pick(self, service: str, *, exclude: frozenset[str] = frozenset()) -> Instance | None:
        if self._fallback is not None and service not in self._instances:
            return self._fallback.pick(service, exclude=exclude)
        candidates = tuple(i for i in self._instances.get(service, ())
                           if i.instance_id not in exclude)
        return self.balancer(service).pick(candidates)

    def balancer(self, service: str) -> Balancer:
        if self._fallback is not None and service not in self._instances:
            return self._fallback.balancer(service)
        bal = self._balancers.get(service)
        if bal is None:
            bal = self._balancers[service] = RoundRobin()
        return bal

    def fixed(self, service: str) -> frozenset[str]:
        """The ids of ``service``'s fixed names here; none when the fallback finds it."""
        return frozenset(i.instance_id for i in self._instances.get(service, ()))

    @property
    def fallback(self) -> Directory | None:
        """Where the services without a fixed URL are found (the registry's view): also where
        an instance the registry listed is found, a call pinned to it (the console's read of
        each instance's ``/metrics``) while its service is reached by a fixed name."""
        return self._fallback

    def eject(self, instance_id: str, seconds: float) -> None:
        # a fixed name is the only one its service has: nothing else to pick, nothing to eject
        if self._fallback is not None and instance_id not in self._own_ids:
            self._fallback.eject(instance_id, seconds)
