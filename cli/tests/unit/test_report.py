from datetime import UTC, datetime

import pytest
from rich.console import Console

from chassis.messaging.dead_letters import DeadLetter
from souk.report import dead_letters_table

pytestmark = pytest.mark.unit


def test_no_dead_letter_field_is_cut_on_an_80_column_terminal() -> None:
    letter = DeadLetter(
        seq=1042, consumer="inventory", subject="souk.inventory.ReserveStock.v1",
        type="inventory.ReserveStock.v1", msg_id="01a24e4c-b98e-72c6-aec9-a4ae3ea7eafd.reserve",
        deliveries=5, error="ValueError: the message does not parse as inventory.ReserveStock.v1",
        time=datetime(2026, 12, 7, 2, 19, 40, tzinfo=UTC), headers={}, data=b"")
    console = Console(width=80, record=True, color_system=None)

    console.print(dead_letters_table([letter]))

    text = console.export_text()
    assert all(len(line.rstrip()) <= 80 for line in text.splitlines())
    assert "…" not in text  # folded over lines where narrow, never cut short
    assert "1042 │ inventory" in text and ".reserve" in text


def test_the_load_summary_says_retried_counts_only_checkouts_that_ended() -> None:
    """Every checkout failed after its retries: "retried 0 checkouts (72 requests sent
    again)" read as a contradiction."""
    from rich.console import Console

    from souk.load import LoadResult
    from souk.report import load_summary

    result = LoadResult(checkouts=4, confirmed=0, cancelled=0, failed=4, elapsed_s=60.0,
                        latencies_ms=[], errors=["no answer"], retried=0, retries=72)
    console = Console(width=100, record=True, color_system=None)
    console.print(load_summary(result))
    text = " ".join(console.export_text().split())
    assert "retried 0 ended checkouts (72 requests sent again in all)" in text
