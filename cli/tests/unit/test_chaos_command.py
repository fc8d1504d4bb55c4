import pytest

from souk.chaos.command import _output

pytestmark = pytest.mark.unit


def test_a_steps_output_shows_the_figures_of_the_verdict_first_and_alone() -> None:
    load = {"success_rate": 1.0, "failed": 0, "checkouts": 1160, "latency_ms": [3.2, 8.1]}

    assert _output(load) == "success_rate=1.0 failed=0 checkouts=1160"
    assert _output({"violations": 0}) == "violations=0"


def test_other_outputs_read_in_a_few_words_with_lists_as_their_length() -> None:
    poison = {"sent": 21, "types": ["inventory.ReserveStock.v1", "orders.OrderConfirmed.v1"],
              "kinds": []}

    assert _output(poison) == "sent=21 types=[2 items] kinds=[0 items]"
    assert _output([1, 2, 3]) == "3 items"
    assert _output(False) == "false"
    assert len(_output({f"key{n}": "x" * 20 for n in range(20)})) == 120
