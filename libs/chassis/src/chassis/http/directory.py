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
    a load-balanced name such as a Kubernetes Service)."""

    def __init__(self, urls: Mapping[str, str | Iterable[str]]) -> None:
        self._instances: dict[str, tuple[Instance, ...]] = {}
        for service, found in urls.items():
            listed = [found] if isinstance(found, str) else list(found)
            self._instances[service] = tuple(
                Instance(f"{service}-{i}", service, url.rstrip("/")) for i, url in enumerate(listed))
        self._balancers: dict[str, Balancer] = {}

    def pick(self, service: str, *, exclude: frozenset[str] = frozenset()) -> Instance | None:
        candidates = tuple(i for i in self._instances.get(service, ())
                           if i.instance_id not in exclude)
        return self.balancer(service).pick(candidates)

    def balancer(self, service: str) -> Balancer:
        bal = self._balancers.get(service)
        if bal is None:
            bal = self._balancers[service] = RoundRobin()
        return bal

    def eject(self, instance_id: str, seconds: float) -> None:
        pass  # one name per service: nothing else to pick
