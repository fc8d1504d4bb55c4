"""The keep rules and the kept-per-second budget."""

from __future__ import annotations

import random

import pytest
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased

from telemetry.domain.keep import KeepBudget, KeepRules, TraceFacts, in_ratio, ratio_bound

from ...conftest import MS, T0, trace_id

pytestmark = pytest.mark.unit

FAST = 20 * MS


def facts(n: int = 1, *, duration_ns: int = FAST, error: bool = False,
          keep: bool = False) -> TraceFacts:
    return TraceFacts(trace_id(n), T0, T0 + duration_ns, error=error, keep=keep)


def test_the_first_rule_that_holds_is_the_reason_errors_first() -> None:
    rules = KeepRules(keep_ratio=1.0, slow_ms=500)

    assert rules.reason(facts(error=True, keep=True, duration_ns=600 * MS)) == "error"
    assert rules.reason(facts(keep=True, duration_ns=600 * MS)) == "keep-flag"
    assert rules.reason(facts(duration_ns=500 * MS)) == "slow"
    assert rules.reason(facts()) == "sampled"


def test_a_plain_fast_trace_is_dropped_at_ratio_zero() -> None:
    rules = KeepRules(keep_ratio=0.0, slow_ms=500)

    assert rules.reason(facts(duration_ns=499 * MS)) is None
    assert rules.reason(facts(error=True)) == "error"


def test_the_ratio_reads_the_low_64_bits_of_the_trace_id() -> None:
    half = ratio_bound(0.5)

    assert in_ratio("ffffffffffffffff" + "7fffffffffffffff", half)
    assert not in_ratio("0000000000000000" + "8000000000000000", half)
    assert in_ratio("f" * 32, ratio_bound(1.0)) and not in_ratio("0" * 31 + "1", ratio_bound(0.0))


@pytest.mark.parametrize("ratio", [0.01, 0.1, 0.5, 0.9])
def test_the_ratio_agrees_with_opentelemetrys_trace_id_ratio_sampler(ratio: float) -> None:
    sampler = TraceIdRatioBased(ratio)
    bound = ratio_bound(ratio)
    rng = random.Random(7)
    ids = [rng.getrandbits(128) or 1 for _ in range(2000)]

    for n in ids:
        ours = in_ratio(f"{n:032x}", bound)
        theirs = sampler.should_sample(None, n, "x").decision == Decision.RECORD_AND_SAMPLE
        assert ours == theirs, f"{n:032x}"


def test_rules_refuse_impossible_parameters() -> None:
    with pytest.raises(ValueError):
        KeepRules(keep_ratio=1.5, slow_ms=500)
    with pytest.raises(ValueError):
        KeepRules(keep_ratio=0.1, slow_ms=0)


def test_the_budget_grants_a_second_worth_then_refills_with_time() -> None:
    budget = KeepBudget(10, now=0.0)

    assert budget.take(25, now=0.0) == 10
    assert budget.take(5, now=0.2) == 2
    assert budget.take(50, now=100.0) == 10  # a quiet spell buys one second's worth, not more
    assert KeepBudget(0, now=0.0).take(10**6, now=0.0) == 10**6  # 0: no cap
