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

    monkeypatch.setattr(operate, "_running", lambda home: SimpleNamespace(gateway_url="http://gw"))
    monkeypatch.setattr(operate.identity_client, "identity_url", lambda state: "http://id")
    monkeypatch.setattr(load, "run_load", interrupted)

    result = CliRunner().invoke(app, ["load", "--checkouts", "50"], env={"COLUMNS": "200"})

    assert result.exit_code == 130
    said = " ".join(result.stderr.split())
    assert "interrupted after 10 of 50 checkouts (7 confirmed, 2 cancelled, 1 failed)" in said
    assert "souk verify --wait" in said
