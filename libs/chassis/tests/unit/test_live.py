"""chassis.live without a broker: keys, the settings' start from static values, merging of the
layers, validation, bindings and the wiring to the chassis's objects."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest
from msgspec import Meta

from chassis.fault_rules import ActiveFaults, RouteFault
from chassis.http import CircuitBreaker, ClientPolicy
from chassis.live import (
    KeyError_,
    Live,
    LiveSettings,
    Record,
    ServiceLiveSettings,
    from_static,
    parse_key,
)
from chassis.live.store import decode_record, encode_record
from chassis.live.wiring import _policy, bind_common
from chassis.settings import ServiceSettings, Share
from chassis.tracing import Tracing

pytestmark = pytest.mark.unit


class DemoSettings(ServiceSettings, frozen=True, kw_only=True):
    service_name: str = "demo"
    decline_rate: Share = 0.25
    unrelated: int = 3


class DemoLive(ServiceLiveSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    decline_rate: Share = 0.0
    low: Annotated[int, Meta(ge=0)] = 0
    high: Annotated[int, Meta(ge=0)] = 10

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low must not exceed high")


def demo(**static: object) -> Live[DemoLive]:
    return Live("demo", "demo-1", DemoLive, DemoSettings(**static))  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "expected"), [
    ("payments.decline_rate", ("payments", "decline_rate")),
    ("log_level", ("platform", "log_level")),
    ("platform.log_level", ("platform", "log_level")),
    ("gateway.rate_limit", ("gateway", "rate_limit")),
])
def test_a_key_is_a_service_and_a_setting_or_platform_wide(text: str,
                                                            expected: tuple[str, str]) -> None:
    assert parse_key(text) == expected


@pytest.mark.parametrize("text", ["", "Payments.x", "payments.", "a.b.c", "payments.Decline",
                                  "pay ments.x", "x.1abc"])
def test_a_malformed_key_is_refused(text: str) -> None:
    with pytest.raises(KeyError_):
        parse_key(text)


def test_live_values_start_from_the_static_settings_of_the_same_name() -> None:
    values = from_static(DemoLive, DemoSettings(decline_rate=0.5, log_level="debug",
                                                trace_keep_ratio=0.1))
    assert (values.decline_rate, values.log_level, values.trace_keep_ratio) == (0.5, "debug", 0.1)
    assert values.client_deadline is None  # not a static setting: the class default


def test_the_service_key_overrides_the_platform_key_over_the_static_value() -> None:
    live = demo()
    assert live.current.log_level == "info" and live.sources()["log_level"] == "static"
    live.apply([("platform.log_level", Record(value="warning"))])
    assert live.current.log_level == "warning" and live.sources()["log_level"] == "platform"
    live.apply([("demo.log_level", Record(value="error"))])
    assert live.current.log_level == "error" and live.sources()["log_level"] == "service"
    live.apply([("platform.log_level", Record(value="debug"))])  # still overridden
    assert live.current.log_level == "error"
    live.apply([("demo.log_level", Record(unset=True))])
    assert live.current.log_level == "debug"


def test_other_services_keys_and_platform_keys_it_lacks_are_ignored() -> None:
    live = demo()
    changed = live.apply([("other.decline_rate", Record(value=0.9)),
                          ("platform.rate_limit", Record(value="5/minute"))])
    assert changed == [] and live.refused == {} and live.current == live.defaults


def test_a_bad_value_is_refused_and_the_running_value_stays() -> None:
    live = demo()
    live.apply([("demo.decline_rate", Record(value=0.5))])
    changed = live.apply([("demo.decline_rate", Record(value=1.5)),
                          ("demo.low", Record(value="3")),  # a string for an int: refused
                          ("demo.nope", Record(value=1)),
                          ("demo.high", Record(value=20))])
    assert changed == ["high"]
    assert live.current.decline_rate == 0.5 and live.current.low == 0
    assert set(live.refused) == {"demo.decline_rate", "demo.low", "demo.nope"}
    assert "<= 1.0" in live.refused["demo.decline_rate"]


def test_a_check_across_fields_refuses_the_value_that_breaks_it() -> None:
    live = demo()
    live.apply([("demo.low", Record(value=11))])
    assert live.current.low == 0 and "low must not exceed high" in live.refused["demo.low"]
    live.apply([("demo.high", Record(value=20)), ("demo.low", Record(value=11))])
    assert (live.current.low, live.current.high) == (11, 20) and not live.refused


def test_a_full_read_unsets_the_keys_gone_from_the_store() -> None:
    live = demo()
    live.apply([("demo.low", Record(value=2)), ("demo.high", Record(value=5))])
    live.apply([("demo.high", Record(value=7))], full=True)
    assert (live.current.low, live.current.high) == (0, 7)


def test_a_binding_runs_now_and_on_changes_of_its_fields_only() -> None:
    live = demo()
    seen: list[float] = []
    live.bind(lambda values: seen.append(values.decline_rate), "decline_rate")
    live.apply([("demo.low", Record(value=1))])
    live.apply([("demo.decline_rate", Record(value=0.75))])
    live.apply([("demo.decline_rate", Record(value=0.75))])  # no change: no call
    assert seen == [0.25, 0.75]
    with pytest.raises(ValueError, match="no live setting"):
        live.bind(lambda values: None, "nope")


def test_a_key_stored_at_the_value_in_force_moves_its_source_and_calls_its_bindings() -> None:
    """Storing a key at the value already in force changes no value, but what reads the source
    (the trace store's keep ratio: stored or not) and `souk config list` must follow it."""
    live = demo()
    seen: list[str] = []
    live.bind(lambda values: seen.append(live.sources()["decline_rate"]), "decline_rate")
    assert live.apply([("platform.decline_rate", Record(value=0.25))]) == ["decline_rate"]
    assert live.apply([("demo.decline_rate", Record(value=0.25))]) == ["decline_rate"]
    assert live.apply([("demo.decline_rate", Record(value=0.25))]) == []  # nothing moved
    assert live.apply([("demo.decline_rate", Record(unset=True))]) == ["decline_rate"]
    assert seen == ["static", "platform", "service", "platform"]


def test_a_failing_binding_does_not_stop_the_others() -> None:
    live = demo()
    seen: list[int] = []

    def broken(values: DemoLive) -> None:
        if values.low:
            raise RuntimeError("boom")

    live.bind(broken, "low")
    live.bind(lambda values: seen.append(values.low), "low")
    live.apply([("demo.low", Record(value=4))])
    assert seen == [0, 4] and live.current.low == 4


def test_the_common_settings_reach_logging_tracing_and_the_fault_flags() -> None:
    live = demo()
    tracing, faults = Tracing(), ActiveFaults()
    bind_common(live, tracing, faults)
    rule = {"route": "GET /v1/x", "error_rate": 0.5}
    live.apply([("demo.trace_sample_ratio", Record(value=0.25)),
                ("demo.fault_routes", Record(value=[rule])),
                ("demo.fault_consumers", Record(value=[{"type": "*", "drop_rate": 1.0}])),
                ("demo.clock_skew", Record(value=-30))])
    assert tracing.sample_ratio == 0.25
    assert faults.route("GET /v1/x") == RouteFault(route="GET /v1/x", error_rate=0.5)
    assert faults.consumer("Any") is not None and faults.clock_skew == -30
    live.apply([("demo.fault_routes", Record(value=[{"route": "*", "error_rate": 2}]))])
    assert faults.route("GET /v1/x") is not None  # the bad rule refused, the old one stays
    assert "demo.fault_routes" in live.refused


def test_client_settings_replace_only_what_they_set_in_the_services_policy() -> None:
    built = ClientPolicy(attempt_timeout=1.0, deadline=3.0,
                         breaker=lambda: CircuitBreaker(window=10, min_calls=5))
    live = demo()
    assert _policy(built, live.current) == built
    live.apply([("demo.client_deadline", Record(value=9.0)),
                ("demo.client_breaker_failure_ratio", Record(value=0.3))])
    policy = _policy(built, live.current)
    assert (policy.attempt_timeout, policy.deadline) == (1.0, 9.0)
    breaker = policy.breaker()
    assert (breaker.window, breaker.min_calls, breaker.failure_ratio) == (10, 5, 0.3)


def test_a_record_keeps_its_audit_and_plain_values_are_read_too() -> None:
    record = Record(value=0.5, by="a@b", at="2026-01-01T00:00:00Z", old=0.1, old_unset=False)
    assert decode_record(encode_record(record)) == record
    assert decode_record(b"0.5") == Record(value=0.5)
    assert decode_record(b"debug") == Record(value="debug")
    assert decode_record(b"").unset


def test_every_live_settings_type_has_a_json_schema_for_the_cli() -> None:
    schema = msgspec.json.schema(DemoLive)
    properties = schema["$defs"]["DemoLive"]["properties"]
    assert properties["decline_rate"]["maximum"] == 1
    assert {f.name for f in msgspec.structs.fields(LiveSettings)} <= set(properties)


def test_client_settings_reach_the_upstreams_already_made_and_those_to_come() -> None:
    from chassis.http import ServiceClient, StaticDirectory
    from chassis.live.wiring import bind_client

    built = ClientPolicy(deadline=3.0, breaker=lambda: CircuitBreaker(window=10, min_calls=5))
    client = ServiceClient(object(), StaticDirectory({"catalog": "http://a"}),  # type: ignore[arg-type]
                           service="cart", policy=built)
    made = client.upstream("catalog")
    live = demo()
    bind_client(live, client)
    assert client.policy == built  # nothing set: the service's own policy
    live.apply([("demo.client_breaker_open_seconds", Record(value=1.5)),
                ("demo.client_retry_budget_min", Record(value=0)),
                ("demo.client_max_in_flight", Record(value=7)),
                ("demo.client_deadline", Record(value=4.0))])
    assert client.policy.deadline == 4.0
    assert (made.breaker.open_seconds, made.breaker.min_calls) == (1.5, 5)
    assert (made.budget.min_retries, made.bulkhead.limit) == (0, 7)
    later = client.upstream("orders")
    assert (later.breaker.open_seconds, later.budget.min_retries) == (1.5, 0)
    live.apply([("demo.client_breaker_open_seconds", Record(unset=True))])
    assert made.breaker.open_seconds == CircuitBreaker().open_seconds


def test_the_log_level_changes_in_the_running_process(capsys: pytest.CaptureFixture[str]) -> None:
    from chassis.logging import configure_logging, get_logger

    configure_logging("demo", "demo-1", level="info")
    live = demo()
    bind_common(live, Tracing(), ActiveFaults())
    log = get_logger("demo")
    log.debug("before")
    live.apply([("platform.log_level", Record(value="debug"))])
    log.debug("after")
    configure_logging("demo", "demo-1", level="info")
    lines = capsys.readouterr().out
    assert "after" in lines and "before" not in lines
