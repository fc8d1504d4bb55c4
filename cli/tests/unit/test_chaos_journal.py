import pytest

from souk.chaos.journal import verdict
from souk.chaos.tolerances import checkouts_held

pytestmark = pytest.mark.unit


def run(name: str, status: str = "succeeded", met: bool | None = None, kind: str = "probe",
        output: object = None) -> dict[str, object]:
    record: dict[str, object] = {"activity": {"type": kind, "name": name}, "status": status,
                                 "duration": 1.0, "output": output}
    if met is not None:
        record["tolerance_met"] = met
    return record


def journal(*, status: str = "completed", deviated: bool = False, before: bool = True,
            after: bool | None = True, method: list[dict[str, object]] | None = None,
            ) -> dict[str, object]:
    states: dict[str, object] = {
        "before": {"steady_state_met": before, "probes": [run("verify", met=before)]}}
    if after is not None:
        states["after"] = {"steady_state_met": after, "probes": [run("verify", met=after)]}
    return {"status": status, "deviated": deviated, "steady_states": states,
            "run": method if method is not None else [run("kill-orders-1", kind="action")],
            "rollbacks": [run("stop-the-load", kind="action")]}


def test_holds_when_the_steady_state_is_met_before_and_after_and_every_activity_succeeded() -> None:
    result = verdict(journal())
    assert result.held and not result.reasons
    assert [(s.phase, s.name) for s in result.steps] == [  # in the order they ran
        ("before", "verify"), ("method", "kill-orders-1"), ("after", "verify"),
        ("rollback", "stop-the-load")]


def test_does_not_hold_when_the_steady_state_deviated_after_the_method() -> None:
    result = verdict(journal(deviated=True, after=False))
    assert not result.held
    assert "the steady state deviated after the method" in result.reasons
    assert "after probe 'verify': succeeded out of tolerance" in result.reasons


def test_does_not_hold_when_the_steady_state_was_not_met_before_and_the_method_never_ran() -> None:
    result = verdict(journal(status="failed", before=False, after=None, method=[]))
    assert not result.held
    assert result.reasons[:3] == ["the run ended failed",
                                  "the steady state was not met before the method",
                                  "no steady-state check after the method"]


def test_does_not_hold_when_a_fault_could_not_be_injected() -> None:
    result = verdict(journal(method=[run("kill-orders-1", status="failed", kind="action")]))
    assert not result.held
    assert result.reasons == ["method action 'kill-orders-1' failed"]


def test_a_window_of_checkouts_holds_only_at_the_rate_and_within_the_latency_asked() -> None:
    window = {"success_rate": 1.0, "latency_ms": {"p95": 300.0}}
    assert checkouts_held(window)
    assert checkouts_held(window, max_p95_ms=300)
    assert not checkouts_held(window, max_p95_ms=299)
    assert not checkouts_held({**window, "success_rate": 0.95})
    assert checkouts_held({**window, "success_rate": 0.95}, min_success_rate=0.9)
    assert not checkouts_held(None)
