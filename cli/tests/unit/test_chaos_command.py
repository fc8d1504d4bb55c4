from pathlib import Path

import pytest
from typer.testing import CliRunner

from souk.chaos.command import _output
from souk.main import app

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


def test_a_malformed_experiment_file_is_refused_in_a_line_before_chaos_runs(
        tmp_path: Path) -> None:
    """Chaos Toolkit printed a Python traceback for it."""
    bad = tmp_path / "bad.json"
    bad.write_text("{bad json")
    result = CliRunner().invoke(app, ["chaos", "run", str(bad), "--home", str(tmp_path / "home")])
    assert result.exit_code == 2
    said = " ".join(result.stderr.split())
    assert "bad.json: not a JSON experiment (Expecting property name" in said
    assert "Traceback" not in result.output
