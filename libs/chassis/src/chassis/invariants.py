"""The platform's invariants (ARCHITECTURE.md §5) as pure checks: a snapshot in, a report out
(`souk verify` and the web console both report them).

The snapshot holds what the services' admin APIs answered, as plain JSON objects; a part is
``None`` when its service is not in the topology, and every check that needs it is then skipped
(reported as such, never passed silently). ``souk.admin`` takes the snapshot for
`souk verify`, ``web.adapters.console`` for the console.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["TERMINAL", "CheckResult", "Json", "Report", "Snapshot", "Violation", "check",
           "consumer_backlog", "consumers_of", "is_settled",
           "outbox_pending"]

Json = Mapping[str, Any]
TERMINAL = frozenset({"CONFIRMED", "CANCELLED"})
CONFIRMED_KIND = "order-confirmed"
CANCELLED_KIND = "order-cancelled"
Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class Snapshot:
    """What the admin listings returned; ``None`` = that service is not in the topology."""

    orders: list[Json] | None = None
    stock: list[Json] | None = None
    reservations: list[Json] | None = None
    payments: list[Json] | None = None
    notifications: list[Json] | None = None
    # service -> GET /v1/admin/messaging of each of its instances that has the endpoint
    messaging: dict[str, list[Json]] = field(default_factory=dict)
    # consumer -> messages held in SOUK_DLQ under souk-dlq.<consumer>; None = not read
    dlq: dict[str, int] | None = None


@dataclass(frozen=True)
class Violation:
    check: str
    subject: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"check": self.check, "subject": self.subject, "detail": self.detail}


@dataclass(frozen=True)
class CheckResult:
    name: str
    description: str
    status: Status
    summary: str
    violations: int = 0


@dataclass(frozen=True)
class Report:
    checks: list[CheckResult]
    violations: list[Violation]
    counts: dict[str, int]
    # whether the snapshot was taken at rest (is_settled), and the messages not yet consumed: a
    # platform read under load shows checkouts in flight as violations (not in the JSON report,
    # whose counts say as much: not_terminal, outbox_pending)
    settled: bool = True
    backlog: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "violations": [v.as_json() for v in self.violations],
                "counts": self.counts}


def consumers_of(service: str, stats: Json) -> list[str]:
    """The consumer names one instance reports (its service's name when it reports none)."""
    consumers = stats.get("consumers")
    if isinstance(consumers, Mapping):
        names = [name for name in consumers if name != "error"]
        if names:
            return names
    return [service]


def is_settled(snapshot: Snapshot) -> bool:
    """Every order terminal, every outbox empty and every consumer caught up (so the
    choreography after the last confirmation has run): the moment ``verify --wait`` waits for."""
    orders_done = all(o.get("status") in TERMINAL for o in snapshot.orders or [])
    return orders_done and outbox_pending(snapshot) == 0 and consumer_backlog(snapshot) == 0


def consumer_backlog(snapshot: Snapshot) -> int:
    """Messages the consumers have not yet taken or not yet acknowledged (the largest answer
    per consumer: its instances share one durable consumer)."""
    backlog: dict[str, int] = {}
    for instances in snapshot.messaging.values():
        for stats in instances:
            consumers = stats.get("consumers")
            if not isinstance(consumers, Mapping):
                continue
            for name, info in consumers.items():
                if isinstance(info, Mapping):
                    lag = int(info.get("num_pending", 0)) + int(info.get("num_ack_pending", 0))
                    backlog[name] = max(backlog.get(name, 0), lag)
    return sum(backlog.values())


def outbox_pending(snapshot: Snapshot) -> int:
    """Outbox rows not yet published, over every service."""
    return sum(_service_pending(instances)[0] for instances in snapshot.messaging.values())


def _service_pending(instances: Iterable[Json]) -> tuple[int, float]:
    """(rows pending, oldest age) of one service: its instances share its database and so
    report the same outbox; the largest answer is the latest."""
    boxes = [stats.get("outbox", {}) for stats in instances]
    pending = max((int(box.get("pending", 0)) for box in boxes), default=0)
    oldest = max((float(box.get("oldest_pending_age_s") or 0) for box in boxes), default=0.0)
    return pending, oldest


def _by_order(rows: Iterable[Json]) -> dict[str, list[Json]]:
    grouped: dict[str, list[Json]] = {}
    for row in rows:
        grouped.setdefault(str(row.get("order_id")), []).append(row)
    return grouped


Report_ = Callable[[str, str], None]  # (subject, detail) of one violation
_Check = Callable[["_Data", Report_], str]  # reports violations, returns the summary

# The snapshot parts a check may need: how a skip names a missing one, and its value (None when
# its service is not in the topology; no service with messaging counts as missing too).
_PARTS: dict[str, tuple[str, Callable[[Snapshot], object | None]]] = {
    "orders": ("orders", lambda s: s.orders),
    "stock": ("inventory", lambda s: s.stock),
    "reservations": ("inventory", lambda s: s.reservations),
    "payments": ("payments", lambda s: s.payments),
    "notifications": ("notifications", lambda s: s.notifications),
    "messaging": ("messaging services", lambda s: s.messaging or None),
    "dlq": ("SOUK_DLQ", lambda s: s.dlq),
}
# (name, description, the parts it needs, the check), in the order they are reported
_CHECKS: list[tuple[str, str, tuple[str, ...], _Check]] = []


def _invariant(name: str, description: str, *needs: str) -> Callable[[_Check], _Check]:
    """Register the check it decorates; it is skipped when a part it ``needs`` is missing."""
    def register(body: _Check) -> _Check:
        _CHECKS.append((name, description, needs, body))
        return body
    return register


class _Data:
    """The snapshot indexed the ways the checks read it."""

    def __init__(self, s: Snapshot) -> None:
        self.s = s
        self.orders = s.orders or []
        self.stock = s.stock or []
        self.reservations = _by_order(s.reservations or [])
        self.payments = _by_order(s.payments or [])
        self.notifications = _by_order(s.notifications or [])
        self.confirmed = [o for o in self.orders if o.get("status") == "CONFIRMED"]
        self.cancelled = [o for o in self.orders if o.get("status") == "CANCELLED"]
        self.dlq = s.dlq or {}

    def kinds(self, order_id: str) -> Counter[str]:
        return Counter(kind for row in self.notifications.get(order_id, [])
                       for kind in row.get("kinds", []))


@_invariant("orders-terminal", "every order CONFIRMED or CANCELLED", "orders")
def _terminal(d: _Data, report: Report_) -> str:
    for order in d.orders:
        if order.get("status") not in TERMINAL:
            report(str(order.get("id")), f"status {order.get('status')}, not terminal")
    return f"{len(d.confirmed) + len(d.cancelled)}/{len(d.orders)} terminal"


@_invariant("stock-balance", "initial = available + reserved + sold, none negative", "stock")
def _stock_balance(d: _Data, report: Report_) -> str:
    for row in d.stock:
        counts = {k: int(row.get(k, 0)) for k in ("initial", "available", "reserved", "sold")}
        if counts["initial"] != counts["available"] + counts["reserved"] + counts["sold"]:
            report(str(row.get("sku")), "initial {initial} != available {available} + "
                   "reserved {reserved} + sold {sold}".format(**counts))
        if negative := [k for k, v in counts.items() if v < 0]:
            report(str(row.get("sku")), f"negative {', '.join(negative)}: {counts}")
    return f"{len(d.stock)} SKUs"


@_invariant("reserved-matches-reservations", "reserved = sum of ACTIVE reservations", "reservations")
def _reserved(d: _Data, report: Report_) -> str:
    held: Counter[str] = Counter()
    for rows in d.reservations.values():
        for row in rows:
            if row.get("status") == "ACTIVE":
                for line in row.get("lines", []):
                    held[str(line.get("sku"))] += int(line.get("quantity", 0))
    skus = {str(row.get("sku")): int(row.get("reserved", 0)) for row in d.stock}
    for sku in sorted(skus.keys() | held.keys()):
        if skus.get(sku, 0) != held[sku]:
            report(sku, f"reserved {skus.get(sku, 0)} but ACTIVE reservations hold {held[sku]}")
    return f"{sum(held.values())} units in ACTIVE reservations"


def _units(lines: Iterable[Json]) -> Counter[str]:
    units: Counter[str] = Counter()
    for line in lines:
        units[str(line.get("sku"))] += int(line.get("quantity", 0))
    return units


@_invariant("confirmed-reservation",
            "CONFIRMED order has its units sold: a COMMITTED reservation of its lines",
            "orders", "reservations")
def _confirmed_reservation(d: _Data, report: Report_) -> str:
    for order in d.confirmed:
        found = d.reservations.get(str(order["id"]), [])
        committed = [r for r in found if r.get("status") == "COMMITTED"]
        if not committed:
            statuses = [r.get("status") for r in found]
            report(str(order["id"]), f"CONFIRMED without its units: no COMMITTED reservation "
                   f"{statuses}")
            continue
        wanted, sold = _units(order.get("lines", [])), _units(committed[0].get("lines", []))
        if wanted != sold:
            report(str(order["id"]), f"CONFIRMED for {dict(wanted)} but sold {dict(sold)}")
    return f"{len(d.confirmed)} confirmed"


@_invariant("confirmed-payment", "CONFIRMED order: one capture, captured = net = total", "orders", "payments")
def _confirmed_payment(d: _Data, report: Report_) -> str:
    for order in d.confirmed:
        order_id, total = str(order["id"]), int(order.get("total_minor", 0))
        found = d.payments.get(order_id, [])
        if len(found) != 1:
            report(order_id, f"CONFIRMED with {len(found)} payments")
            continue
        if (captures := int(found[0].get("captures", 0))) != 1:
            report(order_id, f"{captures} captures, not exactly one")
        for key in ("captured_minor", "net_minor"):
            if int(found[0].get(key, 0)) != total:
                report(order_id, f"{key} {found[0].get(key)} != total {total}")
    return f"{len(d.confirmed)} confirmed"


@_invariant("cancelled-reservation", "CANCELLED order: no ACTIVE or COMMITTED reservation",
            "orders", "reservations")
def _cancelled_reservation(d: _Data, report: Report_) -> str:
    for order in d.cancelled:
        live = [r.get("status") for r in d.reservations.get(str(order["id"]), [])
                if r.get("status") in ("ACTIVE", "COMMITTED")]
        if live:
            report(str(order["id"]), f"CANCELLED with a {live[0]} reservation")
    return f"{len(d.cancelled)} cancelled"


@_invariant("cancelled-payment", "CANCELLED order: no net charge", "orders", "payments")
def _cancelled_payment(d: _Data, report: Report_) -> str:
    for order in d.cancelled:
        for pay in d.payments.get(str(order["id"]), []):
            if int(pay.get("net_minor", 0)) != 0:
                report(str(order["id"]), f"CANCELLED with net charge {pay.get('net_minor')}")
    return f"{len(d.cancelled)} cancelled"


@_invariant("revenue", "sum of net captures = sum of confirmed totals", "orders", "payments")
def _revenue(d: _Data, report: Report_) -> str:
    net = sum(int(p.get("net_minor", 0)) for rows in d.payments.values() for p in rows)
    totals = sum(int(o.get("total_minor", 0)) for o in d.confirmed)
    if net != totals:
        report("all orders", f"net captures {net} != confirmed totals {totals}")
    return f"net captures {net}, confirmed totals {totals}"


@_invariant("payments-have-orders", "no payment without an order", "orders", "payments")
def _payments_have_orders(d: _Data, report: Report_) -> str:
    for order_id in sorted(d.payments.keys() - {str(o.get("id")) for o in d.orders}):
        report(order_id, "a payment for an order that orders does not know")
    return f"{sum(map(len, d.payments.values()))} payments"


@_invariant("confirmed-notified", "CONFIRMED order: exactly one order-confirmed", "orders", "notifications")
def _confirmed_notified(d: _Data, report: Report_) -> str:
    for order in d.confirmed:
        if (n := d.kinds(str(order["id"]))[CONFIRMED_KIND]) != 1:
            report(str(order["id"]), f"{n} {CONFIRMED_KIND} notifications, not exactly one")
    return f"{len(d.confirmed)} confirmed"


@_invariant("cancelled-notified", "CANCELLED order: no order-confirmed, one order-cancelled",
            "orders", "notifications")
def _cancelled_notified(d: _Data, report: Report_) -> str:
    for order in d.cancelled:
        sent = d.kinds(str(order["id"]))
        if sent[CONFIRMED_KIND]:
            report(str(order["id"]), f"CANCELLED but {sent[CONFIRMED_KIND]} {CONFIRMED_KIND} sent")
        if sent[CANCELLED_KIND] != 1:
            report(str(order["id"]),
                   f"{sent[CANCELLED_KIND]} {CANCELLED_KIND} notifications, not exactly one")
    return f"{len(d.cancelled)} cancelled"


@_invariant("outbox-drained", "every outbox row published", "messaging")
def _outbox_drained(d: _Data, report: Report_) -> str:
    for service, instances in sorted(d.s.messaging.items()):
        pending, oldest = _service_pending(instances)
        if pending:
            report(service, f"{pending} outbox rows pending, oldest {oldest:.1f} s")
    return f"{outbox_pending(d.s)} pending in {len(d.s.messaging)} services"


@_invariant("dead-letters-accounted", "every dead letter is in SOUK_DLQ", "messaging", "dlq")
def _dead_letters_accounted(d: _Data, report: Report_) -> str:
    for service, instances in sorted(d.s.messaging.items()):
        if not instances:
            continue
        # the instances of a service share its database, so each reports the service's count
        recorded = max(int(stats.get("dead_letters", 0)) for stats in instances)
        consumers = sorted({c for stats in instances for c in consumers_of(service, stats)})
        held = sum(d.dlq.get(consumer, 0) for consumer in consumers)
        if held < recorded:
            report(service, f"{recorded} dead letters recorded, {held} in SOUK_DLQ "
                   f"(souk-dlq.{', souk-dlq.'.join(consumers)})")
    return f"{_dead_letters(d.s)} recorded, {sum(d.dlq.values())} in SOUK_DLQ"


def check(snapshot: Snapshot) -> Report:
    """Judge ``snapshot`` against every invariant."""
    data = _Data(snapshot)
    checks: list[CheckResult] = []
    violations: list[Violation] = []
    for name, description, needs, body in _CHECKS:
        missing = sorted(label for label, value in (_PARTS[part] for part in needs)
                         if value(snapshot) is None)
        if missing:
            checks.append(CheckResult(name, description, "skip", f"no {', '.join(missing)}"))
            continue
        before = len(violations)
        summary = body(data, _collector(name, violations))
        found = len(violations) - before
        checks.append(CheckResult(name, description, "fail" if found else "pass", summary, found))
    return Report(checks, violations, _counts(data, checks), is_settled(snapshot),
                  consumer_backlog(snapshot))


def _collector(name: str, into: list[Violation]) -> Report_:
    def report(subject: str, detail: str) -> None:
        into.append(Violation(name, subject, detail))
    return report


def _counts(d: _Data, checks: list[CheckResult]) -> dict[str, int]:
    return {
        "orders": len(d.orders), "confirmed": len(d.confirmed), "cancelled": len(d.cancelled),
        "not_terminal": len(d.orders) - len(d.confirmed) - len(d.cancelled),
        "skus": len(d.stock), "reservations": sum(map(len, d.reservations.values())),
        "payments": sum(map(len, d.payments.values())),
        "notifications": sum(int(n.get("count", len(n.get("kinds", []))))
                             for rows in d.notifications.values() for n in rows),
        "dead_letters": _dead_letters(d.s), "dlq_messages": sum(d.dlq.values()),
        "outbox_pending": outbox_pending(d.s),
        "skipped_checks": sum(1 for r in checks if r.status == "skip"),
    }


def _dead_letters(snapshot: Snapshot) -> int:
    return sum(max((int(stats.get("dead_letters", 0)) for stats in instances), default=0)
               for instances in snapshot.messaging.values())
