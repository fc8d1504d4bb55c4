import copy
from typing import Any

import pytest

from chassis.invariants import Snapshot, check, is_settled

pytestmark = pytest.mark.unit


def order(order_id: str, status: str, total: int = 1000, sku: str = "KIT-1",
          quantity: int = 1) -> dict[str, Any]:
    return {"id": order_id, "user_id": "u1", "status": status, "total_minor": total,
            "currency": "EUR", "lines": [{"sku": sku, "quantity": quantity,
                                          "unit_price_minor": total // quantity}]}


def messaging(instance: str, pending: int = 0, dead: int = 0,
              consumer: str | None = None) -> dict[str, Any]:
    name = consumer or instance.rsplit("-", 1)[0]
    return {"instance": instance, "outbox": {"pending": pending, "oldest_pending_age_s": 0.0},
            "dead_letters": dead, "consumers": {name: {"num_pending": 0}}}


def clean() -> dict[str, Any]:
    """One confirmed order (A), one cancelled after a decline (B), one active hold of another
    order's stock is not here: everything balances."""
    return {
        "orders": [order("A", "CONFIRMED", 2000, quantity=2), order("B", "CANCELLED", 1000)],
        "stock": [{"sku": "KIT-1", "initial": 10, "available": 8, "reserved": 0, "sold": 2},
                  {"sku": "KIT-2", "initial": 5, "available": 5, "reserved": 0, "sold": 0}],
        "reservations": [
            {"order_id": "A", "status": "COMMITTED", "lines": [{"sku": "KIT-1", "quantity": 2}]},
            {"order_id": "B", "status": "RELEASED", "lines": [{"sku": "KIT-1", "quantity": 1}]}],
        "payments": [
            {"order_id": "A", "user_id": "u1", "status": "CAPTURED", "authorized_minor": 2000,
             "captured_minor": 2000, "refunded_minor": 0, "net_minor": 2000, "captures": 1,
             "voided": False},
            {"order_id": "B", "user_id": "u1", "status": "DECLINED", "authorized_minor": 0,
             "captured_minor": 0, "refunded_minor": 0, "net_minor": 0, "captures": 0,
             "voided": False}],
        "notifications": [
            {"order_id": "A", "user_id": "u1", "kinds": ["order-confirmed"], "count": 1},
            {"order_id": "B", "user_id": "u1", "kinds": ["order-cancelled"], "count": 1}],
        "messaging": {"orders": [messaging("orders-1"), messaging("orders-2")],
                      "payments": [messaging("payments-1", dead=1)]},
        "dlq": {"payments": 1},
    }


def judge(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(v.check, v.subject) for v in check(Snapshot(**data)).violations]


def broken(change: Any) -> list[tuple[str, str]]:
    data = copy.deepcopy(clean())
    change(data)
    return judge(data)


def test_a_consistent_platform_has_no_violations_and_every_check_passes() -> None:
    report = check(Snapshot(**clean()))

    assert report.ok
    assert report.violations == []
    assert {result.status for result in report.checks} == {"pass"}
    assert report.counts == {
        "orders": 2, "confirmed": 1, "cancelled": 1, "not_terminal": 0, "skus": 2,
        "reservations": 2, "payments": 2, "notifications": 2, "dead_letters": 1,
        "dlq_messages": 1, "outbox_pending": 0, "skipped_checks": 0}


def test_the_json_report_has_exactly_ok_violations_and_counts() -> None:
    data = clean()
    data["orders"].append(order("C", "PENDING"))

    report = check(Snapshot(**data)).as_json()

    assert set(report) == {"ok", "violations", "counts"}
    assert report["ok"] is False
    assert report["violations"] == [
        {"check": "orders-terminal", "subject": "C", "detail": "status PENDING, not terminal"}]


def test_a_report_says_whether_the_platform_was_at_rest() -> None:
    assert check(Snapshot(**clean())).settled
    data = clean()
    data["orders"].append(order("C", "PENDING"))
    assert not check(Snapshot(**data)).settled


def test_an_order_left_pending_is_not_terminal() -> None:
    assert broken(lambda d: d["orders"].append(order("C", "PAYMENT_AUTHORIZED"))) == [
        ("orders-terminal", "C")]


def test_stock_that_does_not_add_up_is_reported_per_sku() -> None:
    def lose_a_unit(d: dict[str, Any]) -> None:
        d["stock"][1]["available"] = 4

    assert broken(lose_a_unit) == [("stock-balance", "KIT-2")]


def test_negative_stock_is_reported_even_when_it_adds_up() -> None:
    def oversell(d: dict[str, Any]) -> None:
        d["stock"][1].update(available=-1, sold=6)

    assert broken(oversell) == [("stock-balance", "KIT-2")]


def test_reserved_units_must_match_the_active_reservations() -> None:
    def hold_without_reservation(d: dict[str, Any]) -> None:
        d["stock"][1].update(available=3, reserved=2)

    assert broken(hold_without_reservation) == [("reserved-matches-reservations", "KIT-2")]


def test_an_active_reservation_counts_toward_reserved() -> None:
    def hold(d: dict[str, Any]) -> None:
        d["stock"][1].update(available=3, reserved=2)
        d["reservations"].append({"order_id": "Z", "status": "ACTIVE",
                                  "lines": [{"sku": "KIT-2", "quantity": 2}]})

    # Z's order is unknown to orders but that is not a reservation invariant
    assert broken(hold) == []


def test_a_confirmed_order_needs_a_committed_reservation() -> None:
    def release(d: dict[str, Any]) -> None:
        d["reservations"][0]["status"] = "RELEASED"

    assert broken(release) == [("confirmed-reservation", "A")]


@pytest.mark.parametrize("lines", [
    [{"sku": "KIT-1", "quantity": 1}],  # fewer units sold than the order paid for
    [{"sku": "KIT-2", "quantity": 2}],  # another SKU's
    [],
])
def test_a_confirmed_order_needs_its_units_sold_not_only_a_committed_reservation(
        lines: list[dict[str, Any]]) -> None:
    def short(d: dict[str, Any]) -> None:
        d["reservations"][0]["lines"] = lines

    assert broken(short) == [("confirmed-reservation", "A")]


def test_a_confirmed_order_whose_hold_expired_is_without_its_units() -> None:
    def expired(d: dict[str, Any]) -> None:
        d["reservations"][0]["status"] = "EXPIRED"  # inventory: short after expiry

    [violation] = check(Snapshot(**broken_data(expired))).violations
    assert (violation.check, violation.subject) == ("confirmed-reservation", "A")
    assert "EXPIRED" in violation.detail


@pytest.mark.parametrize(("change", "expected"), [
    ({"captures": 2}, [("confirmed-payment", "A")]),
    ({"captured_minor": 1500, "net_minor": 1500},
     [("confirmed-payment", "A"), ("confirmed-payment", "A"), ("revenue", "all orders")]),
    ({"refunded_minor": 2000, "net_minor": 0},
     [("confirmed-payment", "A"), ("revenue", "all orders")]),
])
def test_a_confirmed_order_is_captured_exactly_once_for_its_total(
        change: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert broken(lambda d: d["payments"][0].update(change)) == expected


def test_a_confirmed_order_without_payment_is_reported() -> None:
    def drop(d: dict[str, Any]) -> None:
        del d["payments"][0]

    assert broken(drop) == [("confirmed-payment", "A"), ("revenue", "all orders")]


@pytest.mark.parametrize("status", ["ACTIVE", "COMMITTED"])
def test_a_cancelled_order_holds_no_live_reservation(status: str) -> None:
    def keep(d: dict[str, Any]) -> None:
        d["reservations"][1]["status"] = status
        if status == "ACTIVE":  # keep the stock counts consistent with the hold
            d["stock"][0].update(available=7, reserved=1)

    assert broken(keep) == [("cancelled-reservation", "B")]


def test_a_cancelled_order_leaves_no_net_charge() -> None:
    def charge(d: dict[str, Any]) -> None:
        d["payments"][1].update(captured_minor=1000, net_minor=1000, captures=1)

    assert broken(charge) == [("cancelled-payment", "B"), ("revenue", "all orders")]


def test_a_payment_for_an_unknown_order_is_an_orphan() -> None:
    def orphan(d: dict[str, Any]) -> None:
        d["payments"].append({"order_id": "X", "user_id": "u2", "captures": 0, "net_minor": 0})

    assert broken(orphan) == [("payments-have-orders", "X")]


@pytest.mark.parametrize("kinds", [[], ["order-confirmed", "order-confirmed"]])
def test_a_confirmed_order_sends_exactly_one_confirmation(kinds: list[str]) -> None:
    assert broken(lambda d: d["notifications"][0].update(kinds=kinds)) == [
        ("confirmed-notified", "A")]


def test_a_cancelled_order_never_sends_a_confirmation() -> None:
    def confirm(d: dict[str, Any]) -> None:
        d["notifications"][1]["kinds"] = ["order-cancelled", "order-confirmed"]

    assert broken(confirm) == [("cancelled-notified", "B")]


def test_a_cancelled_order_sends_exactly_one_cancellation() -> None:
    assert broken(lambda d: d["notifications"].pop(1)) == [("cancelled-notified", "B")]


def test_a_pending_outbox_is_reported_once_per_service() -> None:
    def pend(d: dict[str, Any]) -> None:
        d["messaging"]["orders"] = [messaging("orders-1", pending=3),
                                    messaging("orders-2", pending=2)]

    report = check(Snapshot(**broken_data(pend)))

    assert [(v.check, v.subject) for v in report.violations] == [("outbox-drained", "orders")]
    assert report.counts["outbox_pending"] == 3
    assert "3 outbox rows pending" in report.violations[0].detail


def broken_data(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(clean())
    change(data)
    return data


def test_every_dead_letter_must_be_in_the_dlq_stream() -> None:
    def lose(d: dict[str, Any]) -> None:
        d["messaging"]["payments"] = [messaging("payments-1", dead=3),
                                      messaging("payments-2", dead=3)]

    report = check(Snapshot(**broken_data(lose)))

    assert [(v.check, v.subject) for v in report.violations] == [
        ("dead-letters-accounted", "payments")]
    assert report.counts["dead_letters"] == 3  # one database, counted once
    assert "3 dead letters recorded, 1 in SOUK_DLQ" in report.violations[0].detail


def test_a_dead_letter_is_matched_to_the_consumer_the_service_reports() -> None:
    def rename(d: dict[str, Any]) -> None:
        d["messaging"]["payments"] = [messaging("payments-1", dead=1, consumer="payments-worker")]

    assert broken(rename) == [("dead-letters-accounted", "payments")]
    assert broken(lambda d: (rename(d), d.update(dlq={"payments-worker": 2}))) == []


def test_checks_of_services_missing_from_the_topology_are_skipped_not_passed() -> None:
    data = clean()
    data.update(payments=None, notifications=None)

    report = check(Snapshot(**data))

    skipped = {result.name: result.summary for result in report.checks if result.status == "skip"}
    assert skipped == {
        "confirmed-payment": "no payments", "cancelled-payment": "no payments",
        "revenue": "no payments", "payments-have-orders": "no payments",
        "confirmed-notified": "no notifications", "cancelled-notified": "no notifications"}
    assert report.ok
    assert report.counts["skipped_checks"] == 6


def test_without_any_messaging_service_the_messaging_checks_are_skipped() -> None:
    report = check(Snapshot(orders=[], messaging={}, dlq=None))

    statuses = {result.name: result.status for result in report.checks}
    assert statuses["outbox-drained"] == "skip"
    assert statuses["dead-letters-accounted"] == "skip"
    assert statuses["stock-balance"] == "skip"
    assert statuses["orders-terminal"] == "pass"


def test_settled_means_every_order_terminal_and_every_outbox_empty() -> None:
    data = clean()
    assert is_settled(Snapshot(**data))

    data["orders"].append(order("C", "PENDING"))
    assert not is_settled(Snapshot(**data))

    data = clean()
    data["messaging"]["orders"][1] = messaging("orders-2", pending=1)
    assert not is_settled(Snapshot(**data))


def test_not_settled_while_a_consumer_still_has_messages_to_take_or_acknowledge() -> None:
    data = clean()
    data["messaging"]["payments"][0]["consumers"] = {"payments": {"num_pending": 0,
                                                                  "num_ack_pending": 2}}
    assert not is_settled(Snapshot(**data))

    data["messaging"]["payments"][0]["consumers"]["payments"]["num_ack_pending"] = 0
    assert is_settled(Snapshot(**data))
