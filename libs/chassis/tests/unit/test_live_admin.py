"""The live configuration's validation (`souk config`, the console), against a service's
published schema (no broker): a value typed as JSON or text, refused with the reason before
anything is written."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import pytest
from msgspec import Meta

from chassis.live import LiveSettings, ServiceLiveSettings
from chassis.live.admin import Refused, Store, parse_value
from chassis.live.model import Record
from chassis.live.overview import ServiceDoc
from chassis.live.store import Revision

pytestmark = pytest.mark.unit


class DemoLive(ServiceLiveSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    decline_rate: Annotated[float, Meta(ge=0, le=1, description="share of cards declined")] = 0.0
    calls: Annotated[int, Meta(ge=1)] = 20
    timeout: Annotated[float, Meta(gt=0)] = 1.5
    rate_limit: Annotated[str, Meta(pattern=r"^\d+/minute$")] = "10/minute"
    name: str = "x"


def doc(service: str, kind: type[LiveSettings]) -> ServiceDoc:
    platform = sorted(f.name for f in msgspec.structs.fields(LiveSettings))
    return ServiceDoc(service, msgspec.json.schema(kind), {}, platform)


class Published(Store):
    """The store's reading side, as the services published it."""

    def __init__(self, *docs: ServiceDoc, running: frozenset[str] | None = None) -> None:
        super().__init__(None, None, running=running)
        self._docs = {d.service: d for d in docs}

    async def _published(self) -> dict[str, ServiceDoc]:
        return self._docs


STORE = Published(doc("demo", DemoLive), doc("plain", ServiceLiveSettings))


@pytest.mark.parametrize(("raw", "expected"), [
    ("0.5", 0.5), ("true", True), ("debug", "debug"), ("100/minute", "100/minute"),
    ('[{"route": "*"}]', [{"route": "*"}]), ('"quoted"', "quoted")])
def test_a_value_is_json_when_it_parses_else_text(raw: str, expected: Any) -> None:
    assert parse_value(raw) == expected


@pytest.mark.parametrize(("key", "raw", "stored", "value"), [
    ("demo.decline_rate", "0.25", "demo.decline_rate", 0.25),
    ("demo.rate_limit", "5/minute", "demo.rate_limit", "5/minute"),
    ("demo.name", "123", "demo.name", "123"),  # a number typed for a text setting is text
    ("log_level", "debug", "platform.log_level", "debug"),
    ("demo.fault_routes", '[{"route": "*", "error_rate": 0.1}]', "demo.fault_routes",
     [{"route": "*", "error_rate": 0.1}]),
])
async def test_a_good_value_is_accepted(key: str, raw: str, stored: str, value: Any) -> None:
    assert await STORE.check(key, parse_value(raw), raw) == (stored, value)


@pytest.mark.parametrize(("key", "raw", "reason"), [
    ("demo.decline_rate", "1.5", "1.5 is greater than the maximum of 1"),
    ("demo.decline_rate", "lots", "share of cards declined"),
    ("demo.rate_limit", "5/fortnight", "does not match"),
    ("demo.nope", "1", "demo has no live setting 'nope'"),
    ("ghost.log_level", "debug", "no live settings known for service 'ghost'"),
    ("rate_limit", "5/minute", "not a platform-wide live setting; it is a setting of demo"),
    # a platform-wide key: a reason once, with the services giving it, and the choices
    ("log_level", "loud", "every service: "),
    ("log_level", "loud", "one of debug, error, info, warning"),
    ("demo.fault_routes", '[{"route": "*", "error_rate": 2}]', "fault_routes.0.error_rate"),
    ("Demo.x", "1", "the service must be"),
])
async def test_a_bad_key_or_value_is_refused_with_the_reason(key: str, raw: str,
                                                             reason: str) -> None:
    with pytest.raises(Refused, match=None) as refused:
        await STORE.check(key, parse_value(raw), raw)
    assert reason in str(refused.value)
    assert str(refused.value).count("is not one of") <= 1  # once, not once a service


@pytest.mark.parametrize(("key", "raw", "value"), [
    ("demo.calls", "8.0", 8), ("demo.calls", "1e1", 10), ("demo.timeout", "2.0", 2),
    ("demo.timeout", "2.5", 2.5),
    ("demo.fault_routes", '[{"route": "*", "error_status": 503.0}]',
     [{"route": "*", "error_status": 503}])])
async def test_a_whole_number_typed_as_a_float_is_stored_as_an_int(key: str, raw: str,
                                                                   value: Any) -> None:
    """JSON Schema counts 8.0 as an integer and msgspec, which the service applies it with,
    does not: stored as 8 it is applied, and 8 is the same number for a float setting."""
    stored, checked = await STORE.check(key, parse_value(raw), raw)
    assert stored == key
    assert checked == value and type(checked) is type(value)
    msgspec.convert({key.split(".")[1]: checked}, DemoLive)  # what the service does with it


@pytest.mark.parametrize("raw", ["100000000000000000000", "-9223372036854775809", "1e300"])
async def test_a_number_past_64_bits_is_refused(raw: str) -> None:
    with pytest.raises(Refused, match="past the 64-bit range"):
        await STORE.check("demo.calls", parse_value(raw), raw)


async def test_two_fault_rules_for_one_route_are_refused() -> None:
    """A service applies one rule a route (the last): the other would silently do nothing."""
    raw = '[{"route": "*", "error_rate": 1}, {"route": "*", "latency_ms": 1}]'
    with pytest.raises(Refused, match="two rules for the route '\\*'"):
        await STORE.check("demo.fault_routes", parse_value(raw), raw)


async def test_a_key_is_known_when_a_running_service_has_the_setting() -> None:
    """What `souk config get` and `history` ask of a key never set: is it one at all?"""
    await STORE.known("demo", "decline_rate")
    await STORE.known("platform", "log_level")
    for scope, name, reason in (("demo", "nope", "demo has no live setting 'nope'"),
                                ("ghost", "x", "no live settings known for service 'ghost'"),
                                ("platform", "rate_limit", "not a platform-wide live setting")):
        with pytest.raises(Refused) as refused:
            await STORE.known(scope, name)
        assert reason in str(refused.value)


class Kept(Published):
    """The store with the revisions of its keys kept (the write itself is the broker's)."""

    def __init__(self, revisions: dict[str, list[Revision]], *docs: ServiceDoc) -> None:
        super().__init__(*docs)
        self._revisions = revisions
        self.written: list[tuple[str, Record]] = []

    async def history(self, key: str) -> list[Revision]:
        return self._revisions.get(key, [])

    async def latest(self, key: str) -> Revision | None:
        kept = self._revisions.get(key)
        return kept[-1] if kept else None

    async def set(self, key: str, value: Any, **how: Any) -> Revision:
        record = Record(value=value, unset=how.get("unset", False), action=how.get("action", "set"))
        self.written.append((key, record))
        return Revision(key, 9, record)


async def test_unset_and_rollback_refuse_a_key_no_service_has_and_write_nothing() -> None:
    """`souk config unset nope` wrote an audited revision "(static) -> (static)" of a key no
    service has; `rollback nope` said only that it was never set."""
    store = Kept({}, doc("demo", DemoLive))
    for work in (store.unset("demo.nope", by="ann"), store.rollback("demo.nope", to=None, by="ann"),
                 store.unset("ghost.x", by="ann")):
        with pytest.raises(Refused, match="no live setting"):
            await work
    assert store.written == []


async def test_unset_of_a_key_with_no_stored_value_writes_nothing() -> None:
    static = Record(unset=True, action="unset", old=0.2, old_unset=False)
    store = Kept({"demo.name": [Revision("demo.name", 4, static)]}, doc("demo", DemoLive))
    for key in ("demo.decline_rate", "demo.name"):  # never set; unset already
        with pytest.raises(Refused, match="static value applies already"):
            await store.unset(key, by="ann")
    assert store.written == []


async def test_unset_removes_a_stored_value_even_of_a_setting_no_service_has_any_more() -> None:
    store = Kept({"demo.gone": [Revision("demo.gone", 2, Record(value=3))],
                  "demo.decline_rate": [Revision("demo.decline_rate", 5, Record(value=0.5))]},
                 doc("demo", DemoLive))
    await store.unset("demo.decline_rate", by="ann")
    await store.unset("demo.gone", by="ann")
    assert [(key, r.unset, r.action) for key, r in store.written] == [
        ("demo.decline_rate", True, "unset"), ("demo.gone", True, "unset")]


async def test_a_fault_rule_naming_no_route_or_message_type_of_the_service_is_refused() -> None:
    """A rule for a route or message type the service does not have would do nothing (and a
    chaos experiment built on it would hold for the wrong reason): refused, with the list."""
    inventory = doc("inventory", ServiceLiveSettings)
    inventory.fault_targets = {"routes": ["GET /v1/stock/{sku}"],
                               "message_types": ["ReserveStock", "inventory.ReserveStock.v1"]}
    catalog = doc("catalog", ServiceLiveSettings)
    catalog.fault_targets = {"routes": ["GET /v1/products"], "message_types": []}
    old = doc("old", ServiceLiveSettings)  # published no list: not asked
    store = Published(inventory, catalog, old)
    for key, raw in (("inventory.fault_routes", '[{"route": "GET /v1/stock/{sku}"}]'),
                     ("inventory.fault_routes", '[{"route": "*", "error_rate": 1}]'),
                     ("inventory.fault_consumers", '[{"type": "ReserveStock"}]'),
                     ("inventory.fault_consumers", '[{"type": "inventory.ReserveStock.v1"}]'),
                     ("fault_routes", '[{"route": "GET /v1/products"}]'),  # one service has it
                     ("old.fault_routes", '[{"route": "POST /v1/anything"}]')):
        await store.check(key, parse_value(raw), raw)
    for key, raw, reason in (
            ("inventory.fault_routes", '[{"route": "POST /v1/reservations"}]',
             "inventory has no route 'POST /v1/reservations', so a rule for it would do "
             "nothing; its routes: GET /v1/stock/{sku}, or \"*\" for every one"),
            ("inventory.fault_consumers", '[{"type": "*"}, {"type": "StockReserved"}]',
             "inventory has no message type 'StockReserved'"),
            ("catalog.fault_consumers", '[{"type": "ReserveStock"}]',
             "catalog has no message types a rule could apply to"),
            ("fault_routes", '[{"route": "GET /v1/nowhere"}]',
             "no service has the route 'GET /v1/nowhere'")):
        with pytest.raises(Refused) as refused:
            await store.check(key, parse_value(raw), raw)
        assert reason in str(refused.value)


async def test_only_the_instances_that_run_now_are_read_when_the_caller_knows_them() -> None:
    """An instance scaled away, or killed and held, keeps what it last published: `souk config`
    showed "catalog-3 runs with info" after a scale-down, and a running value as "varies"."""
    catalog = doc("catalog", ServiceLiveSettings)
    catalog.instances = {f"catalog-{n}": {"running": {"log_level": level},
                                          "sources": {"log_level": source}}
                         for n, level, source in ((1, "debug", "service"), (2, "debug", "service"),
                                                  (3, "info", "static"))}
    rows = await Published(catalog, running=frozenset({"catalog-1", "catalog-2"})).settings(None)
    level = next(r for r in rows if r.name == "log_level")
    assert (level.running, level.source, level.instances) == ("debug", "service", 2)
    everyone = await Published(catalog).settings(None)  # the console: whatever published
    assert next(r for r in everyone if r.name == "log_level").source == "varies"


async def test_a_rollback_to_what_the_key_holds_already_writes_nothing() -> None:
    """Rolling an unset key back to a revision that unset it wrote "(static) -> (static)"."""
    unset = Record(unset=True, action="unset", old=0.2, old_unset=False)
    store = Kept({"demo.decline_rate": [
        Revision("demo.decline_rate", 3, Record(value=0.2, old_unset=True)),
        Revision("demo.decline_rate", 4, unset)]}, doc("demo", DemoLive))
    with pytest.raises(Refused, match="nothing to roll back"):
        await store.rollback("demo.decline_rate", to=4, by="ann")
    assert store.written == []
    await store.rollback("demo.decline_rate", to=3, by="ann")  # back to 0.2: a change
    assert store.written == [("demo.decline_rate", Record(value=0.2, action="rollback"))]


async def test_a_fault_rule_for_a_service_with_nothing_it_could_apply_to_is_refused() -> None:
    """The gateway answers with its upstreams' answers and handles no message: a rule there,
    even for "*", was stored, shown as running and did nothing."""
    edge = ServiceDoc("gateway", msgspec.json.schema(LiveSettings), {},
                      sorted(f.name for f in msgspec.structs.fields(LiveSettings)),
                      fault_targets={"routes": [], "message_types": []})
    shop = ServiceDoc("shop", msgspec.json.schema(LiveSettings), {},
                      sorted(f.name for f in msgspec.structs.fields(LiveSettings)),
                      fault_targets={"routes": ["GET /v1/x"], "message_types": []})
    store = Published(edge, shop)
    for key, raw in (("gateway.fault_routes", '[{"route": "*", "latency_ms": 800}]'),
                     ("gateway.fault_consumers", '[{"type": "*", "latency_ms": 1}]'),
                     ("shop.fault_consumers", '[{"type": "*", "latency_ms": 1}]'),
                     ("fault_consumers", '[{"type": "*", "latency_ms": 1}]')):
        with pytest.raises(Refused, match="would do nothing"):
            await store.check(key, parse_value(raw), raw)
    raw = '[{"route": "*", "latency_ms": 1}]'  # platform-wide: the services that have routes
    assert await store.check("fault_routes", parse_value(raw), raw) == (
        "platform.fault_routes", [{"route": "*", "latency_ms": 1}])
    assert await store.check("gateway.fault_routes", [], "[]") == ("gateway.fault_routes", [])
