"""The composition root: telemetry never traces itself, and takes export bodies as large as its
settings say."""

from __future__ import annotations

import pytest

from chassis.live import Live, LiveSettings
from chassis.live.model import Record
from telemetry.app import create_app, decision_interval, follow_live_keep_ratio, tail_sampler
from telemetry.domain.keep import KeepRules
from telemetry.service.tail import TailSampler
from telemetry.settings import TelemetrySettings

from .service.conftest import MemoryUnitOfWork, RecordingMetrics

pytestmark = pytest.mark.unit


def settings(**overrides: object) -> TelemetrySettings:
    return TelemetrySettings(**{"database_url": "sqlite:///unused.db", "registry_url": "",
                                "nats_url": "", "log_level": "warning", **overrides})


def test_the_app_records_no_spans_even_when_told_to_export_them() -> None:
    app = create_app(settings(otlp_endpoint="http://127.0.0.1:4318", trace_sample_ratio=1.0))

    assert app.tracing.enabled is False


def test_export_bodies_are_limited_by_max_body_bytes() -> None:
    assert create_app(settings(max_body_bytes=64 * 1024)).max_body == 64 * 1024


@pytest.mark.parametrize(("settle", "interval"), [(3, 0.5), (1, 0.25), (0.02, 0.01)])
def test_traces_are_decided_a_few_times_per_settle_time(settle: float, interval: float) -> None:
    assert decision_interval(settings(settle_seconds=settle)) == interval


def _keeping(**overrides: object) -> tuple[Live[LiveSettings], TailSampler]:
    """A sampler built as the app builds it, following a live store's ``trace_keep_ratio``."""
    static = settings(**overrides)
    sampler = tail_sampler(MemoryUnitOfWork(), static, RecordingMetrics())
    live = Live("telemetry", "telemetry-1", LiveSettings, static)
    follow_live_keep_ratio(live, sampler, static)
    return live, sampler


def test_the_store_keeps_by_the_live_keep_ratio_while_one_is_stored() -> None:
    live, sampler = _keeping(keep_ratio=0.3, trace_keep_ratio=0.1)
    assert sampler.rules.keep_ratio == 0.3  # nothing stored: the store's own static ratio

    live.apply([("platform.trace_keep_ratio", Record(value=1.0))])
    assert sampler.rules == KeepRules(keep_ratio=1.0, slow_ms=500)

    live.apply([("telemetry.trace_keep_ratio", Record(value=0.5))])  # its own key wins
    assert sampler.rules.keep_ratio == 0.5

    live.apply([("telemetry.trace_keep_ratio", Record(unset=True)),
                ("platform.trace_keep_ratio", Record(unset=True))])
    assert sampler.rules == KeepRules(keep_ratio=0.3, slow_ms=500)


def test_a_keep_ratio_stored_at_the_value_the_store_runs_with_applies_too() -> None:
    """As shipped the store's own live trace_keep_ratio is 1.0 (no TRACE_KEEP_RATIO reaches
    it): `souk config set trace_keep_ratio 1`, the README's example, changed no value of it,
    so the store went on keeping by its static ratio while the services exported everything."""
    live, sampler = _keeping(keep_ratio=0.1, trace_keep_ratio=1.0)
    assert sampler.rules.keep_ratio == 0.1
    live.apply([("platform.trace_keep_ratio", Record(value=1))])
    assert sampler.rules.keep_ratio == 1.0
    live.apply([("platform.trace_keep_ratio", Record(unset=True))])
    assert sampler.rules.keep_ratio == 0.1


def test_a_keep_ratio_stored_before_the_store_started_applies_from_the_start() -> None:
    static = settings(keep_ratio=0.1, trace_keep_ratio=0.1)
    live = Live("telemetry", "telemetry-1", LiveSettings, static)
    live.apply([("platform.trace_keep_ratio", Record(value=1.0))])  # as from the cache
    sampler = tail_sampler(MemoryUnitOfWork(), static, RecordingMetrics())

    follow_live_keep_ratio(live, sampler, static)

    assert sampler.rules.keep_ratio == 1.0
