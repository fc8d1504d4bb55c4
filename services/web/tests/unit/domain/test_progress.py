from __future__ import annotations

import pytest

from web.domain.progress import progress, reason_text

pytestmark = pytest.mark.unit


def _states(status: str, reason: str | None = None) -> list[tuple[str, str]]:
    return [(s.key, s.state) for s in progress(status, reason).steps]


def test_a_new_order_is_reserving_its_items() -> None:
    view = progress("PENDING")
    assert not view.final and view.message is None
    assert view.headline == "Reserving your items"
    assert _states("PENDING") == [("reserved", "current"), ("authorized", "todo"),
                                  ("captured", "todo"), ("confirmed", "todo")]


def test_reserved_stock_moves_on_to_the_payment() -> None:
    assert _states("STOCK_RESERVED") == [("reserved", "done"), ("authorized", "current"),
                                         ("captured", "todo"), ("confirmed", "todo")]
    assert _states("PAYMENT_AUTHORIZED")[:3] == [("reserved", "done"), ("authorized", "done"),
                                                 ("captured", "current")]


def test_a_confirmed_order_shows_every_step_done_even_those_it_never_saw() -> None:
    # captured on authorization, the order goes STOCK_RESERVED -> CONFIRMED in one move
    view = progress("CONFIRMED")
    assert view.final and view.headline == "Confirmed"
    assert [s.state for s in view.steps] == ["done"] * 4
    assert [s.label for s in view.steps] == ["Items reserved", "Payment authorized",
                                             "Payment captured", "Order confirmed"]


def test_a_declined_card_releases_the_items_and_says_so() -> None:
    view = progress("CANCELLED", "payment-declined")
    assert view.final and view.headline == "Cancelled"
    assert view.message is not None and view.message.startswith("Your card was declined")
    assert _states("CANCELLED", "payment-declined") == [
        ("reserved", "done"), ("authorized", "failed"), ("released", "done"),
        ("cancelled", "done")]


def test_a_cancellation_under_way_shows_its_compensations_in_progress() -> None:
    assert _states("CANCELLING", "payment-declined") == [
        ("reserved", "done"), ("authorized", "failed"), ("released", "current"),
        ("cancelled", "todo")]
    assert _states("CANCELLING", "payment-timeout") == [
        ("reserved", "done"), ("authorized", "failed"), ("voided", "current"),
        ("released", "todo"), ("cancelled", "todo")]


def test_a_payment_timeout_is_voided_then_released() -> None:
    view = progress("CANCELLED", "payment-timeout")
    assert view.message is not None and "timed out" in view.message
    assert [s.label for s in view.steps] == ["Items reserved", "Payment timed out",
                                             "Payment voided", "Items released",
                                             "Order cancelled"]
    assert [s.state for s in view.steps] == ["done", "failed", "done", "done", "done"]


@pytest.mark.parametrize("reason", ["insufficient-stock", "out-of-stock", "expired"])
def test_items_out_of_stock_were_never_reserved(reason: str) -> None:
    assert _states("CANCELLED", reason) == [("reserved", "failed"), ("cancelled", "done")]


def test_names_the_items_that_were_out_of_stock_when_known() -> None:
    assert reason_text("insufficient-stock", ["Chef's Knife 20 cm", "Matcha"]) == (
        "Out of stock: Chef's Knife 20 cm, Matcha. Nothing was charged.")
    assert reason_text("insufficient-stock") == (
        "Some items were out of stock. Nothing was charged.")


@pytest.mark.parametrize(("reason", "words"), [
    ("unknown-sku", "no longer sold"), ("inventory-timeout", "could not reserve"),
    ("something-new", "was cancelled"), (None, "was cancelled")])
def test_every_reason_reads_like_a_shop(reason: str | None, words: str) -> None:
    assert words in reason_text(reason)


def test_the_live_view_is_plain_json() -> None:
    data = progress("CANCELLED", "payment-declined").as_json()
    assert data["status"] == "CANCELLED" and data["final"] is True
    assert data["steps"][1] == {"key": "authorized", "label": "Card declined",
                                "state": "failed"}
