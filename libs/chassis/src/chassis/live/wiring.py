"""The live settings every service has, applied to the chassis's objects: the log level, the
trace ratios, the fault flags and the service client's policy."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chassis.fault_rules import ActiveFaults
from chassis.live.model import LiveSettings, ServiceLiveSettings
from chassis.live.watch import Live
from chassis.logging import set_level
from chassis.tracing import Tracing

if TYPE_CHECKING:
    from chassis.http import ClientPolicy, ServiceClient

__all__ = ["bind_client", "bind_common"]

# the ServiceLiveSettings fields -> the ClientPolicy fields they replace
_POLICY = {"client_attempt_timeout": "attempt_timeout", "client_deadline": "deadline",
           "client_max_retries": "max_retries", "client_max_in_flight": "max_in_flight"}
_BREAKER = {"client_breaker_failure_ratio": "failure_ratio",
            "client_breaker_min_calls": "min_calls",
            "client_breaker_open_seconds": "open_seconds"}
_BUDGET = {"client_retry_budget_ratio": "ratio", "client_retry_budget_min": "min_retries"}


def bind_common(live: Live[Any], tracing: Tracing, faults: ActiveFaults) -> None:
    """Apply the settings of :class:`LiveSettings` now and on every change."""

    def log_level(values: LiveSettings) -> None:
        set_level(values.log_level)

    def trace_ratios(values: LiveSettings) -> None:
        tracing.sample_ratio = values.trace_sample_ratio
        set_keep = getattr(tracing.exporter, "set_keep_ratio", None)
        if set_keep is not None:
            set_keep(values.trace_keep_ratio)

    def fault_flags(values: LiveSettings) -> None:
        faults.set_routes(values.fault_routes)
        faults.set_consumers(values.fault_consumers)
        faults.set_clock_skew(values.clock_skew)

    # logging and tracing were built from the static settings (or given by a test): applied
    # now only where the store (its cache) says otherwise, then on every change
    for callback, fields in ((log_level, ("log_level",)),
                             (trace_ratios, ("trace_sample_ratio", "trace_keep_ratio")),
                             (fault_flags, ("fault_routes", "fault_consumers", "clock_skew"))):
        live.bind(callback, *fields, now=live.overridden(*fields))


def bind_client(live: Live[Any], client: ServiceClient) -> None:
    """Apply the ``client_*`` settings to ``client`` (its policy, and the breaker, retry budget
    and bulkhead of every upstream, made or to be made); a null setting leaves the policy the
    service built."""
    if not isinstance(live.current, ServiceLiveSettings):
        return
    built = client.policy
    fields = (*_POLICY, *_BREAKER, *_BUDGET)

    def apply(values: ServiceLiveSettings) -> None:
        client.policy = _policy(built, values)
        for upstream in client._upstreams.values():  # those made so far
            fresh_breaker = client.policy.breaker()
            for name in _BREAKER.values():
                setattr(upstream.breaker, name, getattr(fresh_breaker, name))
            upstream.breaker.min_calls = min(upstream.breaker.min_calls, upstream.breaker.window)
            fresh_budget = client.policy.budget()
            upstream.budget.ratio = fresh_budget.ratio
            upstream.budget.min_retries = fresh_budget.min_retries
            upstream.bulkhead.limit = client.policy.max_in_flight

    live.bind(apply, *fields)


def _policy(built: ClientPolicy, values: ServiceLiveSettings) -> ClientPolicy:
    changes = _set(values, _POLICY)
    breaker = _set(values, _BREAKER)
    if breaker:
        changes["breaker"] = _with(built.breaker, breaker, clamp_min_calls=True)
    budget = _set(values, _BUDGET)
    if budget:
        changes["budget"] = _with(built.budget, budget)
    return dataclasses.replace(built, **changes)


def _set(values: ServiceLiveSettings, targets: dict[str, str]) -> dict[str, Any]:
    """The attributes to set (target name -> value) for the live fields of ``targets`` that are
    set (not null)."""
    return {target: getattr(values, name) for name, target in targets.items()
            if getattr(values, name) is not None}


def _with(factory: Callable[[], Any], attributes: dict[str, Any], *,
          clamp_min_calls: bool = False) -> Callable[[], Any]:
    """A factory making what ``factory`` makes, with ``attributes`` set on it (a breaker's
    ``min_calls`` kept within its window when ``clamp_min_calls``)."""

    def make() -> Any:
        made = factory()
        for name, value in attributes.items():
            setattr(made, name, value)
        if clamp_min_calls:
            made.min_calls = min(made.min_calls, made.window)
        return made

    return make
