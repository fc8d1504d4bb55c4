"""Every service under services/ is in each list written by hand outside its folder: one left
out of the import-linter contracts was not checked at all, and silently ("6 kept, 0 broken");
one left out of ruff's first-party packages had its imports sorted as a third party's. README
"Adding a service" names the lists; this test holds them to the folders."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").is_file())
# services laid out in layers (entrypoints, adapters, service, domain): all but the edge
LAYERED = sorted(s for s in SERVICES if (ROOT / "services" / s / "src" / s / "domain").is_dir())


@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def contract(name_starts: str) -> dict[str, Any]:
    (found,) = [c for c in pyproject()["tool"]["importlinter"]["contracts"]
                if c["name"].startswith(name_starts)]
    return found


def test_the_services_are_found() -> None:
    assert {"gateway", "orders", "web"} <= set(SERVICES)
    assert "gateway" not in LAYERED and "orders" in LAYERED


def test_the_makefile_installs_and_tests_every_service() -> None:
    line = re.search(r"^SERVICES\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert line is not None
    assert sorted(line.group(1).split()) == SERVICES


def test_ruff_and_mypy_know_every_service() -> None:
    tool = pyproject()["tool"]
    assert set(SERVICES) <= set(tool["ruff"]["lint"]["isort"]["known-first-party"])
    paths = tool["mypy"]["mypy_path"].split(":")
    assert {f"services/{s}/src" for s in SERVICES} <= set(paths)


def test_every_import_linter_contract_names_every_service() -> None:
    linter = pyproject()["tool"]["importlinter"]
    assert set(SERVICES) <= set(linter["root_packages"])
    assert sorted(contract("Services never import each other")["modules"]) == SERVICES
    assert set(SERVICES) <= set(contract("The chassis and the contracts")["forbidden_modules"])
    assert set(SERVICES) <= set(contract("The CLI imports no service")["forbidden_modules"])
    assert sorted(contract("Layers inside a service")["containers"]) == LAYERED
    assert sorted(contract("Domain code is plain Python")["source_modules"]) == [
        f"{s}.domain" for s in LAYERED]
