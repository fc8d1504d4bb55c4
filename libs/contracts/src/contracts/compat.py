"""Whether a change of the contracts keeps every running peer working (a rolling upgrade runs
old and new versions side by side, producers and consumers alike).

Compared are the JSON Schemas of each wire name (``inventory.ReserveStock.v1``): the reviewed
ones (``tests/wire_schemas.json``, or a base branch's copy) against the code's. A change is
compatible when a message either side writes still decodes on the other:

* every wire name stays (a peer still on it would publish to no one, or wait forever);
* a field keeps its presence: a required one stays required (an old consumer needs it), a new
  one is optional with a default (an old producer does not send it);
* a field both know keeps its schema (type, constraints, enum), nested structs by these rules.

A new version is a new wire name (``.v2``) beside the old one, which stays until no peer uses it.

    python -m contracts.compat BASE.json   # the code's contracts against a reviewed copy
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["breaking_changes", "current_schemas", "main"]

Schema = Mapping[str, Any]
_NOTES = frozenset({"description", "title", "examples", "default"})


def _resolve(schema: Schema, defs: Schema) -> tuple[str | None, Schema]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return name, defs.get(name, {})
    return None, schema


def _bare(schema: Schema) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in _NOTES}


def _compare(where: str, old: Schema, new: Schema, old_defs: Schema, new_defs: Schema,
             out: list[str], seen: set[tuple[str | None, str | None]]) -> None:
    old_name, old_s = _resolve(old, old_defs)
    new_name, new_s = _resolve(new, new_defs)
    if old_name is not None or new_name is not None:
        if (old_name, new_name) in seen:
            return
        seen.add((old_name, new_name))
    if old_s.get("type") == "object" and new_s.get("type") == "object" and (
            "properties" in old_s or "properties" in new_s):
        _compare_struct(where, old_s, new_s, old_defs, new_defs, out, seen)
        return
    if old_s.get("type") == "array" and new_s.get("type") == "array":
        if _bare({**old_s, "items": None}) != _bare({**new_s, "items": None}):
            out.append(f"{where}: the list's constraints changed")
        _compare(where + "[]", old_s.get("items", {}), new_s.get("items", {}), old_defs,
                 new_defs, out, seen)
        return
    if "anyOf" in old_s and "anyOf" in new_s and len(old_s["anyOf"]) == len(new_s["anyOf"]):
        for i, (o, n) in enumerate(zip(old_s["anyOf"], new_s["anyOf"], strict=True)):
            _compare(f"{where}|{i}", o, n, old_defs, new_defs, out, seen)
        return
    if _bare(old_s) != _bare(new_s):
        out.append(f"{where}: its schema changed ({_bare(old_s)} -> {_bare(new_s)})")


def _compare_struct(where: str, old: Schema, new: Schema, old_defs: Schema, new_defs: Schema,
                    out: list[str], seen: set[tuple[str | None, str | None]]) -> None:
    old_fields, new_fields = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for field, schema in old_fields.items():
        at = f"{where}.{field}"
        if field not in new_fields:
            if field in old_required:
                out.append(f"{at}: removed, and a consumer still on the old version requires it")
            continue
        if field in old_required and field not in new_required:
            out.append(f"{at}: no longer required, and a consumer still on the old version "
                       "requires it")
        _compare(at, schema, new_fields[field], old_defs, new_defs, out, seen)
    for field in new_fields:
        if field in new_required and (field not in old_fields or field not in old_required):
            out.append(f"{where}.{field}: required now, and a producer still on the old version "
                       "does not send it (add it with a default)")


def breaking_changes(old: Mapping[str, Schema], new: Mapping[str, Schema]) -> list[str]:
    """What in ``new`` (wire name -> JSON Schema) breaks a peer still on ``old``; empty when
    the change is compatible."""
    out: list[str] = []
    for wire, old_schema in sorted(old.items()):
        new_schema = new.get(wire)
        if new_schema is None:
            out.append(f"{wire}: gone, and a peer still on it publishes or waits for it")
            continue
        _compare(wire, old_schema, new_schema, old_schema.get("$defs", {}),
                 new_schema.get("$defs", {}), out, set())
    return out


def current_schemas() -> dict[str, Any]:
    """The published contracts' wire schemas as the code defines them now."""
    import msgspec

    from contracts import registry

    published = {name: contract for name, contract in sorted(registry().items())
                 if contract.__module__.startswith("contracts.")}
    return dict(json.loads(json.dumps({name: msgspec.json.schema(contract)
                                       for name, contract in published.items()})))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--current"]:  # what libs/contracts/tests/wire_schemas.json pins
        print(json.dumps(current_schemas(), indent=1))
        return 0
    if len(args) != 1:
        print("usage: python -m contracts.compat BASE_WIRE_SCHEMAS.json\n"
              "       python -m contracts.compat --current > libs/contracts/tests/wire_schemas.json",
              file=sys.stderr)
        return 2
    base = json.loads(Path(args[0]).read_text())
    found = breaking_changes(base, current_schemas())
    for line in found:
        print(line)
    print(f"{len(found)} breaking change(s) against {args[0]}" if found
          else f"compatible with {args[0]}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
