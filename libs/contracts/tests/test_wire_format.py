"""Every contract's wire format (field names, types, constraints, defaults, required fields) as
its JSON Schema, pinned: a change to a contract that alters what travels shows here first.

Contracts change additively (a new optional field, a new type name); when one does, regenerate
``wire_schemas.json`` (``python -m contracts.compat --current > libs/contracts/tests/
wire_schemas.json``) and review its diff as part of the change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.compat import current_schemas

pytestmark = pytest.mark.unit

PINNED = Path(__file__).parent / "wire_schemas.json"


def _schemas() -> dict[str, object]:
    # only the published contracts (other packages' tests register messages of their own),
    # through JSON as the pinned file was written (tuples become lists)
    return current_schemas()


def test_every_contract_travels_as_pinned() -> None:
    assert _schemas() == json.loads(PINNED.read_text())


def test_fields_keep_their_order_on_the_wire() -> None:
    pinned = json.loads(PINNED.read_text())
    for name, schema in _schemas().items():
        assert isinstance(schema, dict)
        title = schema["$ref"].rsplit("/", 1)[-1]
        assert list(schema["$defs"][title]["properties"]) == list(
            pinned[name]["$defs"][title]["properties"]), name
