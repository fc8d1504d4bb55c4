"""A Chaos Toolkit control (``"controls": [{"name": "souk", "provider": {"type": "python",
"module": "souk.chaos.control"}}]``): each run starts clean and leaves no load behind.

Before the run it stops a load an interrupted run left, takes off the faults that run left on,
and forgets its loads and poison messages (the steady state judges only this run's); after the
run it stops every load still going and takes off every network fault and fault key the run
switched on (``souk.chaos.faults``), whatever its rollbacks did: an interrupted or failed run
leaves the platform as it found it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from souk.chaos import background
from souk.chaos.context import log, platform_home, work_dir
from souk.chaos.faults import switch_off_everything

__all__ = ["after_experiment_control", "configure_control"]


def configure_control(configuration: Mapping[str, Any] | None = None) -> None:
    home = platform_home(configuration)
    if stopped := background.stop_every_load(home):
        log.warning(f"stopped loads left by an earlier run: {', '.join(stopped)}")
    if undone := switch_off_everything(home):
        log.warning(f"took off faults an earlier run left on: {', '.join(undone)}")
    for path in work_dir(home).iterdir():
        if path.suffix == ".json":
            path.unlink()


def after_experiment_control(context: Mapping[str, Any], state: Any = None,
                             configuration: Mapping[str, Any] | None = None,
                             **kwargs: Any) -> None:
    home = platform_home(configuration)
    if stopped := background.stop_every_load(home):
        log.warning(f"stopped loads still running at the end: {', '.join(stopped)}")
    if undone := switch_off_everything(home):
        log.info(f"faults taken off at the end: {', '.join(undone)}")
