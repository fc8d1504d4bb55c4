"""The gateway's retry policy is the chassis one (:mod:`chassis.http.retry`): full-jitter
backoff, idempotent methods only, a retry budget per service."""

from chassis.http.retry import IDEMPOTENT_METHODS, RETRYABLE_STATUSES, RetryBudget, backoff

__all__ = ["IDEMPOTENT_METHODS", "RETRYABLE_STATUSES", "RetryBudget", "backoff"]
