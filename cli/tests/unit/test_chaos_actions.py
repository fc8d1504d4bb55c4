from pathlib import Path

import pytest
from chaoslib.exceptions import ActivityFailed

from souk.chaos import actions

pytestmark = pytest.mark.unit


def test_a_fault_nobody_knows_fails_before_any_is_injected(tmp_path: Path) -> None:
    faults = [{"action": "kill_instance", "instance": "orders-1"},
              {"action": "flood_the_datacentre", "service": "payments", "seconds": 5}]
    with pytest.raises(ActivityFailed, match="no fault flood_the_datacentre"):
        actions.continuous_faults(faults, configuration={"souk_home": str(tmp_path)})


def test_a_kill_meant_under_load_fails_once_the_load_has_ended(tmp_path: Path) -> None:
    with pytest.raises(ActivityFailed, match="the load 'load' is not running"):
        actions.kill_instance("orders-1", during_load="load",
                              configuration={"souk_home": str(tmp_path)})
