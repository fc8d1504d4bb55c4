"""The supervisor's probes of one process (``souk.instance.Instance``), with a fake probe and a
real short-lived child (``sleep``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from souk import instance as instance_module
from souk.instance import Instance, _exited
from souk.plan import ProcSpec

pytestmark = pytest.mark.unit

READY, LIVE = "http://127.0.0.1:9/health/ready", "http://127.0.0.1:9/health/live"


def spec(tmp_path: Path, seconds: float) -> ProcSpec:
    return ProcSpec(service="worker", instance="worker-1", slot=1,
                    argv=(sys.executable, "-c", f"import time; time.sleep({seconds})"), env={},
                    port=9, url="http://127.0.0.1:9", ready_url=READY, live_url=LIVE,
                    log_file=tmp_path / "worker-1.log")


async def probed(tmp_path: Path, ready: bool, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Which URLs were probed while a process lived ~1 s, the periods shortened tenfold."""
    monkeypatch.setattr(instance_module, "READY_EVERY", 0.05)
    monkeypatch.setattr(instance_module, "STARTING_EVERY", 0.05)
    monkeypatch.setattr(instance_module, "LIVE_EVERY", 0.1)
    calls: Counter[str] = Counter()

    async def probe(url: str, timeout: float) -> bool:
        calls[url] += 1
        return ready or url == LIVE

    worker = Instance(spec(tmp_path, 1.0), cwd=tmp_path, env={}, probe=probe,
                      on_change=lambda: None, log=lambda level, event, **fields: None)
    worker._spawn()
    assert await worker._watch() == 0
    return calls


async def test_a_process_that_answers_its_readiness_probe_is_not_asked_if_it_lives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = await probed(tmp_path, True, monkeypatch)
    assert calls[READY] >= 10
    assert calls[LIVE] == 0


async def test_a_process_that_is_not_ready_is_asked_whether_it_lives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = await probed(tmp_path, False, monkeypatch)
    assert calls[READY] >= 10
    assert calls[LIVE] >= 5  # one a period (0.1 s) while the process ran (~1 s)


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "polled"])
async def test_an_exit_is_seen_at_once_and_a_wait_for_one_ends_on_time(
        pidfd: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not pidfd:  # what a system without pidfd_open (not Linux) does
        monkeypatch.delattr(os, "pidfd_open", raising=False)

    quick = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    began = time.monotonic()
    assert await _exited(quick)
    assert quick.returncode == 0  # reaped
    assert time.monotonic() - began < 5
    slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        began = time.monotonic()
        assert not await _exited(slow, timeout=0.3)
        assert 0.25 <= time.monotonic() - began < 5
        assert slow.returncode is None
    finally:
        slow.kill()
        assert await _exited(slow, timeout=10)
    assert slow.returncode is not None
