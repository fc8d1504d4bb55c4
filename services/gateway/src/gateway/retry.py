"""The gateway's retry policy is the chassis one (:mod:`chassis.http.retry`): full-jitter
backoff, idempotent methods only, a retry budget per service."""

from chassis.http.retry import (
    IDEMPOTENT_METHODS,
    RetryBudget,
    backoff,
    retryable,
    sheds,
)

__all__ = ["IDEMPOTENT_METHODS", "RetryBudget", "backoff", "retryable", "sheds"]
