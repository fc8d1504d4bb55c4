"""Contract compatibility: a change must keep every peer still on the reviewed version working
(rolling upgrades run both); the checker itself on changes that do and do not."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from contracts.compat import breaking_changes, current_schemas, main

pytestmark = pytest.mark.unit

PINNED = Path(__file__).parent / "wire_schemas.json"


def test_the_codes_contracts_keep_every_peer_on_the_reviewed_ones_working() -> None:
    assert breaking_changes(json.loads(PINNED.read_text()), current_schemas()) == []


class Line(msgspec.Struct):
    sku: str
    quantity: int


class Placed(msgspec.Struct):
    order_id: str
    lines: list[Line]
    note: str = ""


def schemas(**changes: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(msgspec.json.schema(Placed)))
    for path, value in changes.items():
        target = doc["$defs"]
        *parents, last = path.split("__")
        for part in parents:
            target = target[part]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return {"orders.Placed.v1": doc}


def test_an_added_optional_field_or_new_words_are_compatible() -> None:
    old = schemas()
    new = copy.deepcopy(old)
    new["orders.Placed.v1"]["$defs"]["Placed"]["properties"]["gift"] = {"type": "boolean",
                                                                       "default": False}
    new["orders.Placed.v1"]["$defs"]["Placed"]["description"] = "reworded"
    new["orders.v2"] = {"type": "object"}  # a new version beside the old one
    assert breaking_changes(old, new) == []


@pytest.mark.parametrize(("change", "complaint"), [
    ({"Placed__required": ["order_id", "lines", "note"]}, "note: required now"),
    ({"Placed__required": ["order_id"]}, "lines: no longer required"),
    ({"Placed__properties__order_id": {"type": "integer"}}, "order_id: its schema changed"),
    ({"Line__properties__quantity": {"type": "integer", "maximum": 9}},
     "lines[].quantity: its schema changed"),
    ({"Line__properties__sku": None, "Line__required": ["quantity"]},
     "lines[].sku: removed"),
])
def test_changes_that_break_a_peer_on_the_old_version_are_named(change: dict[str, Any],
                                                               complaint: str) -> None:
    found = breaking_changes(schemas(), schemas(**change))
    assert len(found) == 1 and complaint in found[0], found


def test_a_wire_name_that_disappears_breaks_its_peers() -> None:
    assert [x.split(",")[0] for x in breaking_changes(schemas(), {})] == ["orders.Placed.v1: gone"]


def test_the_command_compares_the_code_with_a_base_copy(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(PINNED)]) == 0
    base = json.loads(PINNED.read_text())
    base["orders.Retired.v1"] = {"type": "object"}
    (tmp_path / "base.json").write_text(json.dumps(base))
    assert main([str(tmp_path / "base.json")]) == 1
    assert "orders.Retired.v1: gone" in capsys.readouterr().out


def test_the_command_prints_what_the_pinned_file_holds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--current"]) == 0
    assert capsys.readouterr().out == PINNED.read_text()


def test_a_new_contract_module_is_registered_without_being_listed_anywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new context's contracts (say `contracts/reviews.py`) were registered only when some test
    had imported the module first: the pinned schemas passed alone and failed beside that test."""
    import sys

    import contracts
    from contracts import registry

    (tmp_path / "reviews_probe.py").write_text(
        "from typing import ClassVar\n"
        "from contracts.base import Event\n\n\n"
        "class ReviewPosted(Event):\n"
        "    TYPE: ClassVar[str] = 'reviews_probe.ReviewPosted.v1'\n"
        "    sku: str\n")
    monkeypatch.setattr(contracts, "__path__", [*contracts.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "contracts.reviews_probe", raising=False)
    try:
        assert "reviews_probe.ReviewPosted.v1" in registry()
    finally:
        from contracts import base

        base._REGISTRY.pop("reviews_probe.ReviewPosted.v1", None)
        sys.modules.pop("contracts.reviews_probe", None)
