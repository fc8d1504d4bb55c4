import itertools

import pytest

from souk.control import ControlError, parse_scale
from souk.procs import backoff_delay

pytestmark = pytest.mark.unit


def test_parses_several_scale_requests() -> None:
    assert parse_scale(["catalog=3", "cart=0", "registry=1", "orders=64"]) == {
        "catalog": 3, "cart": 0, "registry": 1, "orders": 64}


@pytest.mark.parametrize(("arg", "message"), [
    ("catalog", "is not SERVICE=N"),
    ("=3", "is not SERVICE=N"),
    ("catalog=three", "'three' is not a whole number"),
    ("catalog=-1", "cannot be negative"),
    ("catalog=65", "at most 64 instances of a service"),
    ("catalog=100000000", "at most 64 instances"),
    ("registry=2", "registry runs as a single instance"),
    ("nats=1", "nats cannot be scaled while it runs: its nodes are .platform. nats_nodes"),
    ("nats=3", "nats cannot be scaled"),
    ("nats=0", "nats cannot be scaled"),
])
def test_refuses_what_cannot_be_scaled(arg: str, message: str) -> None:
    with pytest.raises(ControlError, match=message):
        parse_scale([arg])


def test_a_service_given_twice_is_refused() -> None:
    with pytest.raises(ControlError, match=r"catalog is given twice \(catalog=2, catalog=3\)"):
        parse_scale(["catalog=2", "cart=1", "catalog=3"])


def test_needs_something_to_scale() -> None:
    with pytest.raises(ControlError, match="say what to scale"):
        parse_scale([])


def test_restarts_at_once_then_backs_off_doubling_up_to_ten_seconds() -> None:
    delays = [backoff_delay(n) for n in range(1, 12)]

    assert delays[:5] == [0.0, 0.1, 0.2, 0.4, 0.8]
    assert delays[-1] == 10.0
    assert all(a <= b for a, b in itertools.pairwise(delays))
