"""What a service-to-service call can fail with: one exception type per way of failing.

Every one is a :class:`ServiceCallError` naming the ``upstream`` service, so a caller that only
wants "the call did not work" catches that, and one that serves a fallback can tell a broken
upstream (:class:`UpstreamUnavailable` and its kinds) from an answer it did not like
(:class:`UpstreamError`, a non-2xx status with its problem document).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["BulkheadFull", "CircuitOpen", "NoHealthyInstance", "ServiceCallError",
           "UpstreamError", "UpstreamTimeout", "UpstreamUnavailable"]


class ServiceCallError(Exception):
    """A call to ``upstream`` did not produce a 2xx answer."""

    def __init__(self, upstream: str, detail: str) -> None:
        super().__init__(f"{upstream}: {detail}")
        self.upstream = upstream
        self.detail = detail


class UpstreamUnavailable(ServiceCallError):
    """The upstream could not be reached or gave no usable answer (refused, reset, 5xx after the
    retries allowed); a fallback is in order."""


class NoHealthyInstance(UpstreamUnavailable):
    """Discovery knows no healthy instance of the upstream."""


class UpstreamTimeout(UpstreamUnavailable):
    """No answer within the attempt timeout or the overall deadline."""


class CircuitOpen(UpstreamUnavailable):
    """The upstream's breaker is open: the call was refused without being sent."""

    def __init__(self, upstream: str, retry_after: float) -> None:
        super().__init__(upstream, f"circuit open; retry in {retry_after:.1f}s")
        self.retry_after = retry_after


class BulkheadFull(UpstreamUnavailable):
    """This process already has the maximum of calls in flight to the upstream."""

    def __init__(self, upstream: str, limit: int) -> None:
        super().__init__(upstream, f"{limit} calls already in flight")
        self.limit = limit


class UpstreamError(ServiceCallError):
    """The upstream answered with a non-2xx status; ``problem`` is its problem+json document
    (or ``{}`` when the body was not one)."""

    def __init__(self, upstream: str, status: int, problem: Mapping[str, Any]) -> None:
        detail = str(problem.get("detail") or problem.get("title") or "")
        super().__init__(upstream, f"answered {status}" + (f": {detail}" if detail else ""))
        self.status = status
        self.problem = dict(problem)
