"""``souk load`` interrupted (Ctrl-C) says how far it got, not only "interrupted"."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from souk import load, operate
from souk.load import LoadProgress
from souk.main import app

pytestmark = pytest.mark.unit


def test_an_interrupted_load_says_how_many_checkouts_were_done(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def interrupted(*args: Any, progress: Any, **kwargs: Any) -> None:
        progress(LoadProgress(total=50, confirmed=7, cancelled=2, failed=1))
        raise KeyboardInterrupt

    monkeypatch.setattr(operate, "running_state", lambda home: SimpleNamespace(gateway_url="http://gw"))
    monkeypatch.setattr(operate.identity_client, "identity_url", lambda state: "http://id")
    monkeypatch.setattr(load, "run_load", interrupted)

    result = CliRunner().invoke(app, ["load", "--checkouts", "50"], env={"COLUMNS": "200"})

    assert result.exit_code == 130
    said = " ".join(result.stderr.split())
    assert "interrupted after 10 of 50 checkouts (7 confirmed, 2 cancelled, 1 failed)" in said
    assert "souk verify --wait" in said


@pytest.mark.parametrize("json", [False, True])
def test_a_load_with_failed_checkouts_exits_1_after_its_report(
        monkeypatch: pytest.MonkeyPatch, json: bool) -> None:
    """A script (CI, a chaos experiment's own check) must not read a load whose checkouts
    failed as a good one: the report as always, then exit 1."""
    from souk.load import LoadResult

    async def ended(*args: Any, progress: Any, **kwargs: Any) -> LoadResult:
        return LoadResult(checkouts=4, confirmed=1, cancelled=0, failed=3, elapsed_s=1.0,
                          latencies_ms=[5.0], errors=["503 no-healthy-instance"])

    async def clean(*args: Any, progress: Any, **kwargs: Any) -> LoadResult:
        return LoadResult(checkouts=4, confirmed=4, cancelled=0, failed=0, elapsed_s=1.0,
                          latencies_ms=[5.0] * 4, errors=[])

    monkeypatch.setattr(operate, "running_state", lambda home: SimpleNamespace(gateway_url="http://gw"))
    monkeypatch.setattr(operate.identity_client, "identity_url", lambda state: "http://id")
    args = ["load", "--checkouts", "4", *(["--json"] if json else [])]
    monkeypatch.setattr(load, "run_load", ended)
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "3 of 4 checkouts failed" in " ".join(result.stderr.split())
    assert ('"failed": 3' if json else "failed") in result.stdout
    monkeypatch.setattr(load, "run_load", clean)
    assert CliRunner().invoke(app, args, env={"COLUMNS": "200"}).exit_code == 0
