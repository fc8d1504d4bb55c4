"""The console's list of chaos experiments, read from their folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from web.adapters.chaos import read_experiments

pytestmark = pytest.mark.unit


def test_every_experiment_is_read_and_an_unreadable_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "kill-it.json").write_text(json.dumps({
        "title": "Kill it under load", "description": "Hypothesis: nothing is lost.",
        "tags": ["kill"],
        "steady-state-hypothesis": {"title": "Checkouts succeed",
                                    "probes": [{"name": "success-rate"}, {"name": "verify"}]},
        "method": [{"name": "start-a-load"}, {"name": "kill-orders"}],
        "rollbacks": [{"name": "heal"}]}))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[]")
    (tmp_path / "notes.txt").write_text("ignored")
    experiments, unreadable = read_experiments(str(tmp_path))
    assert [e.name for e in experiments] == ["kill-it"]
    kill = experiments[0]
    assert (kill.title, kill.hypothesis, kill.steady_state) == (
        "Kill it under load", "Hypothesis: nothing is lost.", "Checkouts succeed")
    assert kill.probes == ("success-rate", "verify")
    assert kill.method == ("start-a-load", "kill-orders") and kill.rollbacks == ("heal",)
    assert [line.split(":")[0] for line in unreadable] == ["broken.json", "list.json"]


def test_no_folder_lists_nothing() -> None:
    assert read_experiments("") == ([], [])


def test_the_repositorys_experiments_are_all_readable() -> None:
    folder = Path(__file__).resolve().parents[5] / "chaos" / "experiments"
    experiments, unreadable = read_experiments(str(folder))
    assert unreadable == [] and len(experiments) >= 10
    assert all(e.hypothesis and e.steady_state and e.method for e in experiments)
