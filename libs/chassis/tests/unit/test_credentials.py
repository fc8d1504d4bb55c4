"""Per-service credentials (chassis.auth.credentials), as identity and the registry check them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from chassis.auth import ServiceCredentials

pytestmark = pytest.mark.unit


def test_reads_the_file_of_hashes_and_checks_secrets_against_it(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"orders": hashlib.sha256(b"s3cret").hexdigest()}))
    credentials = ServiceCredentials.load(str(path))
    assert credentials.check("orders", "s3cret")
    assert not credentials.check("orders", "guessed")
    assert not credentials.check("cart", "s3cret")
    assert len(credentials) == 1 and "orders" in credentials


def test_no_file_admits_nobody_and_a_malformed_one_stops_the_start(tmp_path: Path) -> None:
    assert not ServiceCredentials.load("").check("orders", "")
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"orders": "plain-secret"}))
    with pytest.raises(ValueError, match="sha256"):
        ServiceCredentials.load(str(path))


def test_built_from_the_secrets_themselves() -> None:
    assert ServiceCredentials.of_secrets({"cart": "c"}).check("cart", "c")
